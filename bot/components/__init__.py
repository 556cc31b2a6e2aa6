"""Custom Rasa NLU components, named in config.yml by their module paths."""
