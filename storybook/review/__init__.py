"""Review: pinned snapshots, checks (lint), diffs between versions, sign-offs and the pull-request comment.

It reuses sources, resolve and analyse; it never re-implements them.
"""
