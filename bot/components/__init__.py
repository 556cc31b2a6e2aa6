"""Custom Rasa NLU components, named in config.yml by their module paths.

Rasa imports this package whenever it loads our model, so it is also where our changes to Rasa
itself are installed: the fixes of bot/rasa_fixes.py and the action deadline of
bot/action_deadline.py.
"""
from bot import action_deadline, rasa_fixes

rasa_fixes.apply()
action_deadline.apply()
