"""Rasa's own checks: the data validates without warnings, and the test stories in every
language are predicted without a single error by the trained model."""
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_ROOT

RASA = str(Path(sys.executable).parent / "rasa")


def run_rasa(*args, timeout=900):
    return subprocess.run([RASA, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def test_data_validates_without_warnings():
    result = run_rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_stories_in_every_language_pass(tmp_path):
    stories = sorted((PROJECT_ROOT / "tests" / "stories").glob("test_*.yml"))
    assert {p.stem for p in stories} >= {"test_stories_th", "test_stories_ko", "test_stories_en", "test_stories_zh"}
    result = run_rasa("test", "core", "--stories", "tests/stories", "--model", "models/spine.tar.gz",
                      "--fail-on-prediction-errors", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-4000:]
