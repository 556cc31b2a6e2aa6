"""Shared fixtures: the project's paths, and a rasa-sdk tracker/dispatcher built in code."""
import os
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT.parent / "shared" / "seeds"


@pytest.fixture
def dispatcher():
    return CollectingDispatcher()


def make_tracker(text="", intent=None, entities=(), slots=None, events=None, sender="test-patient"):
    """A tracker whose latest message has the given intent and entities."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99} if intent else {},
        "intent_ranking": [{"name": intent, "confidence": 0.99}] if intent else [],
        "entities": [dict(e) for e in entities],
    }
    return Tracker(sender, dict(slots or {}), latest, list(events or []), False, None, {}, "action_listen")


@pytest.fixture(scope="session")
def assistant(tmp_path_factory):
    """The trained assistant, started once for every test that talks to it over HTTP."""
    from tests.servers import RunningAssistant

    running = RunningAssistant(tmp_path_factory.mktemp("assistant"))
    yield running
    running.stop()
