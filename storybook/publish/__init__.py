"""Publish: write the site atomically and render PDFs without touching the network."""
