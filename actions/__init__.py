"""rasa-sdk actions of the spine-surgery assistant, one module per concern:
topics (answers from the content files), safety (red flags, hand-off, the notice),
language (switching) and fallback (asking the patient to confirm)."""
