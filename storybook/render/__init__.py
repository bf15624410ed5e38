"""Render: templates, sanitised Markdown and offline charts."""
