"""Components that read data/procedure_names.yml at run time tell Rasa about it, so that
`rasa train` retrains them when the dictionary changes (Rasa only fingerprints its own inputs)."""
import hashlib

from bot.paths import PROCEDURE_NAMES_FILE


def procedure_names_fingerprint() -> str:
    return hashlib.sha256(PROCEDURE_NAMES_FILE.read_bytes()).hexdigest()
