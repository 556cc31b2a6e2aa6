"""Custom Rasa NLU components, named in config.yml by their module paths.

Rasa imports this package whenever it loads our model, so it is also where our fixes to Rasa
itself are installed (see bot/rasa_fixes.py).
"""
from bot import rasa_fixes

rasa_fixes.apply()
