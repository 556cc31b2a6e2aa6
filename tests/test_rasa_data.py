"""Rasa's own checks: the data validates, and the test stories in every language are
predicted without a single error by the trained model."""
import re
import subprocess
import sys
from pathlib import Path

from bot.action_deadline import UNAVAILABLE_RESPONSE
from tests.conftest import PROJECT_ROOT

RASA = str(Path(sys.executable).parent / "rasa")
# Rasa's default fallback actions send these responses; no rule names them.
RESPONSES_OF_DEFAULT_ACTIONS = {"utter_default", "utter_ask_rephrase"}
# Sent by Rasa when a custom action is slow or down (bot/action_deadline.py).
RESPONSES_OF_THE_ACTION_DEADLINE = {UNAVAILABLE_RESPONSE}


def run_rasa(*args, timeout=900):
    return subprocess.run([RASA, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def responses_sent_by_custom_actions():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "actions").glob("*.py"))
    return set(re.findall(r'response="(utter_\w+)"', source))


def test_data_validates_and_every_response_is_used():
    result = run_rasa("data", "validate", "--fail-on-warnings")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    warnings = re.findall(r"UserWarning: (.*)", output)
    unused = {m.group(1) for w in warnings for m in [re.match(r"The utterance '(\w+)' is not used in any story or rule\.", w)] if m}
    # The validator only sees rules and stories: the one kind of warning it may give is about
    # responses that actions send, and each of those must really be sent by an action.
    assert len(unused) == len(warnings), warnings
    assert unused <= responses_sent_by_custom_actions() | RESPONSES_OF_DEFAULT_ACTIONS | RESPONSES_OF_THE_ACTION_DEADLINE, unused


def test_stories_in_every_language_pass(tmp_path):
    stories = sorted((PROJECT_ROOT / "tests" / "stories").glob("test_*.yml"))
    assert {p.stem for p in stories} >= {"test_stories_th", "test_stories_ko", "test_stories_en", "test_stories_zh"}
    result = run_rasa("test", "core", "--stories", "tests/stories", "--model", "models/spine.tar.gz",
                      "--fail-on-prediction-errors", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-4000:]
