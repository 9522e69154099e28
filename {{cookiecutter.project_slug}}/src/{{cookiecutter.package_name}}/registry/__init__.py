"""Decisions over the registry: which run becomes `challenger`, whether it may become
`champion` (the gates and the paired bootstrap), rollback and status. One way in: `session`."""
