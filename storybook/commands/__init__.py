"""Commands that start a project and draft stories: ``storybook init`` (:mod:`.init`) and ``storybook new``
(:mod:`.new`). Both write only files that do not exist yet."""
