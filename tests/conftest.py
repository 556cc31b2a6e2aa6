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
def vendor_api():
    """A real HTTP server standing in for the vendors' APIs (LINE's reply and push endpoints, ...)."""
    from tests.vendor_stand_in import VendorStandIn

    stand_in = VendorStandIn()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory, vendor_api):
    """The trained assistant with every channel on, started once for every test that talks to it."""
    from tests.channel_env import channel_env
    from bot.running_assistant import RunningAssistant

    running = RunningAssistant(tmp_path_factory.mktemp("assistant"), env=channel_env(vendor_api.url))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, for one test module. Not for the whole session: Playwright's sync
    API keeps an event loop running in this thread, where later tests call asyncio.run()."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
