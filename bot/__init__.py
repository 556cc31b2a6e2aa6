"""The spine-surgery patient assistant's own package: what Rasa 3.6 lacks.

- ``paths``: where the project's data files live (found from this file, never the working directory).
- ``procedure_names``: the dictionary of procedure names, matched in any of the four languages.
- ``language``: a message's language from its script.
- ``content``: the hospital's answers, loaded and validated against a schema.
- ``text_input``: cleaning and limits applied to every patient message before NLU.
- ``components``: custom Rasa NLU components (tokenizer, language and procedure extractors).
- ``channels``: input channels (a REST channel that validates its input).
"""
