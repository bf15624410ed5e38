"""The bundled example's sources, shipped in the wheel so that ``storybook example`` works in an empty folder.

One copy only: in the repository, ``storybook.yaml`` and ``stories`` here are links to the repository's own
project (its ``storybook.yaml`` and ``stories/``, what the README's first command builds); building the wheel or
the sdist copies the files they point at (pyproject.toml's package-data). :func:`storybook.example.write_example`
copies them into a new folder.
"""
