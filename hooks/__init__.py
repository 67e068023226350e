"""hookswarm.hooks."""
