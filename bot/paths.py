"""Where the project's files live, found from this file so any working directory works."""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
CONTENT_DIR = DATA_DIR / "content"
PROCEDURE_NAMES_FILE = DATA_DIR / "procedure_names.yml"
HOSPITAL_FILE = DATA_DIR / "hospital.yml"
SAFETY_DIR = DATA_DIR / "safety"
