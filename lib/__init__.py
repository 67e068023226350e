"""hookswarm.lib."""
