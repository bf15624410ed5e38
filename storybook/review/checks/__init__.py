"""The checks of ``storybook check`` by concern; :mod:`storybook.review.check` runs them story by story."""
