"""Starts the action server and Rasa, as `make run` does, on free loopback ports and their own database.

Used by the tests, the benchmark and the staff's conversation tests, which all talk to the assistant over HTTP.
"""
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, Optional

from bot.channels.credentials import write_startable_credentials

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODEL = PROJECT_ROOT / "models" / "spine.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=60, headers=None):
    """(status, parsed JSON or None) for a request; body may be bytes or a JSON-able value.
    `headers` are sent besides the JSON content type (a vendor's signature, a shared secret)."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, None


def with_token(url: str, token: Optional[str]) -> str:
    """`url` with the API's token as Rasa's API takes it (`?token=`), or unchanged without a token."""
    if not token:
        return url
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode({"token": token})


def own_endpoints(action_port: int, tracker_db: Path) -> str:
    """The project's endpoints.yml with this instance's action server port and database."""
    text = (PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8")
    text = text.replace("http://127.0.0.1:5055/webhook", f"http://127.0.0.1:{action_port}/webhook")
    assert 'db: "var/tracker.db"' in text, "endpoints.yml no longer has the SQLite tracker store"
    return text.replace('db: "var/tracker.db"', f'db: "{tracker_db}"')


class RunningAssistant:
    """The action server and Rasa, as `make run` starts them, on their own ports and database.

    `env` adds environment variables, such as channel secrets: as in `make run`, a channel in
    credentials.yml starts only when its variables are set (bot/channels/credentials.py). The API and
    the REST channel require `token` (a new one for each instance); `api` and `api_url` add it.
    """

    def __init__(self, workdir: Path, model: Path = MODEL, env: Optional[Dict[str, str]] = None,
                 token: Optional[str] = None):
        if not model.exists():
            raise RuntimeError(f"{model} is missing: train it with `make train`")
        self.rasa_port, self.action_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.rasa_port}"
        self.tracker_db = workdir / "tracker.db"
        self.token = token or secrets.token_urlsafe(32)
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", RASA_AUTH_TOKEN=self.token,
                   **(env or {}))
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(own_endpoints(self.action_port, self.tracker_db), encoding="utf-8")
        credentials = workdir / "credentials.yml"
        self.channels_left_out = write_startable_credentials(PROJECT_ROOT / "credentials.yml", credentials, env)
        self.logs = [open(workdir / "actions.log", "wb"), open(workdir / "rasa.log", "wb")]
        self.processes = [
            subprocess.Popen([sys.executable, "-m", "bot.action_server", "--port", str(self.action_port)],
                             cwd=PROJECT_ROOT, env=env, stdout=self.logs[0], stderr=subprocess.STDOUT),
            subprocess.Popen([sys.executable, "-m", "bot.rasa_server", "--enable-api", "-i", "127.0.0.1", "-p", str(self.rasa_port),
                              "-m", str(model), "--credentials", str(credentials), "--endpoints", str(endpoints)],
                             cwd=PROJECT_ROOT, env=env, stdout=self.logs[1], stderr=subprocess.STDOUT),
        ]
        self.started = time.monotonic()
        self.ready_after = self._wait_until_ready()

    def _wait_until_ready(self, timeout=180) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a server exited early; see {self.logs[-1].name}")
            try:
                status, body = http("GET", self.api_url("/status"), timeout=2)
                # A bot without custom actions (the benchmark's vanilla one) has no action server.
                actions_ready = self.action_port is None or http(
                    "GET", f"http://127.0.0.1:{self.action_port}/health", timeout=2)[0] == 200
                if status == 200 and body.get("model_id") and actions_ready:
                    return time.monotonic() - self.started
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the assistant did not become ready in time")

    def api_url(self, path: str) -> str:
        """This assistant's URL for `path` with the token."""
        return with_token(self.url + path, self.token)

    def api(self, method, path, body=None, timeout=60, headers=None):
        """(status, parsed JSON) of a request to this assistant's API or REST channel, with the token."""
        return http(method, self.api_url(path), body, timeout=timeout, headers=headers)

    def say(self, sender, text):
        status, body = self.api("POST", "/webhooks/rest/webhook", {"sender": sender, "message": text})
        assert status == 200, (status, body)
        return body

    def parse(self, text):
        status, body = self.api("POST", "/model/parse", {"text": text})
        assert status == 200, (status, body)
        return body

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()
