"""The web server with the staff console, on a free loopback port, reading the test assistant's
conversations and writing corrections, saved tests and its access log into a temporary folder."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from aiohttp import web

from bot.running_assistant import free_port
from bot.staff.access_log import AccessLog
from bot.staff.auth import StaffAuth, hash_entry, parse_accounts
from bot.staff.console import ConsoleSettings
from bot.staff.conversation_tests import AssistantClient
from bot.staff.store import ConversationStore
from bot.staff.teach import Corrections
from bot.web_server import create_staff_app

# name -> (role, password); the console gets them as STAFF_USERS entries with argon2 hashes.
ACCOUNTS = {"alice": ("reviewer", "correct-horse-battery"), "bob": ("reviewer", "staple-staple-staple"),
            "carol": ("viewer", "viewer-only-password")}


def staff_users(accounts) -> str:
    """The STAFF_USERS value for `accounts` (name -> (role, password))."""
    return " ".join(hash_entry(name, role, password) for name, (role, password) in accounts.items())


class ConsoleServer:
    def __init__(self, assistant, workdir: Path, accounts=None, trusted_proxies=frozenset()):
        self.workdir = workdir
        self.settings = ConsoleSettings(
            auth=StaffAuth(parse_accounts(staff_users(ACCOUNTS if accounts is None else accounts))[0]),
            store=ConversationStore(f"sqlite:///{assistant.tracker_db}"),
            assistant=AssistantClient(assistant.url, assistant.token),
            corrections=Corrections(workdir / "corrections"),
            saved_tests_dir=workdir / "saved",
            access_log=AccessLog(workdir / "staff_access.log"),
            trusted_proxies=frozenset(trusted_proxies),
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(assistant.url, started), daemon=True)
        self._thread.start()
        if not started.wait(30):
            raise RuntimeError("the console's web server did not start")

    def _serve(self, rasa_url: str, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(create_staff_app(self.settings, rasa_url))
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        started.set()
        self._loop.run_forever()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)


def staff_session(console: "ConsoleServer", name: str):
    """A requests session logged in to `console` as `name` (one of ACCOUNTS)."""
    import requests

    session = requests.Session()
    response = session.post(console.url + "/staff/login", data={"user": name, "password": ACCOUNTS[name][1]},
                            allow_redirects=False)
    assert response.status_code == 303, response.text
    return session
