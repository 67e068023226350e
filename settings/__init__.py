"""hookswarm.settings."""
