"""Sources: read storybook.yaml and each story, validated once, here, at the edge."""
