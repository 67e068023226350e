"""hookswarm.executor."""
