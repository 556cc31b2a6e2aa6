"""The HTTP API and the REST channel answer only with the API's token (issue 11, "The HTTP API").

Against the running assistant as `make run` starts it (bot/rasa_server.py, bot/channels/rest.py): each
request below is one an attacker could send to read or change a patient's conversation, load a model,
or message a patient through a vendor's channel."""
import os
import stat
import subprocess
import uuid

import pytest

from bot import api_token
from bot.running_assistant import PROJECT_ROOT, http

ATTACKS = [
    ("GET", "/status", None),
    ("GET", "/conversations/whatsapp:+66812345678/tracker", None),
    ("GET", "/conversations/whatsapp:+66812345678/story", None),
    ("POST", "/conversations/whatsapp:+66812345678/tracker/events", {"event": "slot", "name": "red_flag_raised", "value": True}),
    ("POST", "/conversations/whatsapp:+66812345678/trigger_intent?output_channel=latest", {"name": "greet"}),
    ("POST", "/conversations/whatsapp:+66812345678/messages", {"text": "/ask_risks", "sender": "user"}),
    ("POST", "/model/parse", {"text": "hello"}),
    ("PUT", "/model", {"model_file": "/tmp/other.tar.gz"}),
    ("GET", "/domain", None),
]


@pytest.mark.parametrize("method,path,body", ATTACKS, ids=[f"{m} {p.split('?')[0]}" for m, p, _ in ATTACKS])
def test_the_api_refuses_a_request_without_the_token_or_with_a_wrong_one(assistant, method, path, body):
    assert http(method, assistant.url + path, body)[0] == 401
    wrong = path + ("&" if "?" in path else "?") + "token=" + "x" * 43
    assert http(method, assistant.url + wrong, body)[0] == 401


def test_the_api_answers_with_the_token(assistant):
    status, body = assistant.api("GET", "/status")
    assert status == 200 and body["model_id"]


def test_a_forged_message_without_the_token_reaches_no_conversation(assistant):
    sender = "rest:" + uuid.uuid4().hex[:8]
    status, body = http("POST", assistant.url + "/webhooks/rest/webhook", {"sender": sender, "message": "/ask_risks"})
    assert status == 401 and "token" in body["error"]
    assert http("POST", assistant.url + "/webhooks/rest/webhook?token=wrong", {"sender": sender, "message": "hi"})[0] == 401
    tracker = assistant.api("GET", f"/conversations/{sender}/tracker")[1]
    assert not [e for e in tracker["events"] if e["event"] == "user"], "a refused message was stored"


def test_the_rest_channel_takes_the_token_as_rasa_does_or_as_a_bearer_header(assistant):
    message = {"sender": "rest:" + uuid.uuid4().hex[:8], "message": "hello"}
    assert assistant.api("POST", "/webhooks/rest/webhook", message)[0] == 200
    bearer = {"Authorization": f"Bearer {assistant.token}"}
    assert http("POST", assistant.url + "/webhooks/rest/webhook", message, headers=bearer)[0] == 200


def test_the_token_is_not_on_rasas_command_line(assistant):
    # Other users of the machine read every process's command line (`ps`); the token stays inside.
    rasa = assistant.processes[1]
    assert assistant.token not in open(f"/proc/{rasa.pid}/cmdline", "rb").read().decode(errors="replace")


def test_a_token_is_generated_once_into_a_private_file(tmp_path):
    token_file = tmp_path / "var" / "rasa_auth_token"
    first = api_token.load_or_create(token_file, environ={})
    assert len(first) >= api_token.MIN_LENGTH
    assert api_token.load_or_create(token_file, environ={}) == first
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700
    assert api_token.stored(token_file, environ={}) == first


def test_the_environment_token_wins_and_must_be_long_enough(tmp_path):
    chosen = "c" * 32
    assert api_token.load_or_create(tmp_path / "t", environ={"RASA_AUTH_TOKEN": chosen}) == chosen
    assert not (tmp_path / "t").exists()
    with pytest.raises(api_token.TokenError, match="at least"):
        api_token.load_or_create(tmp_path / "t", environ={"RASA_AUTH_TOKEN": "short"})


def test_a_reachable_address_needs_a_token_from_the_environment():
    api_token.require_for_host("127.0.0.1", environ={})
    api_token.require_for_host("0.0.0.0", environ={"RASA_AUTH_TOKEN": "c" * 32})
    with pytest.raises(api_token.TokenError, match="Refusing to listen on 0.0.0.0"):
        api_token.require_for_host("0.0.0.0", environ={})


def test_make_run_refuses_a_reachable_address_without_a_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RASA_AUTH_TOKEN"}
    env.update(BIND_HOST="0.0.0.0", ENDPOINTS=str(tmp_path / "unused.yml"))
    finished = subprocess.run(["scripts/serve.sh"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2
    assert "Refusing to listen on 0.0.0.0" in finished.stderr


def test_a_huge_body_is_refused_by_the_server_before_it_is_buffered(assistant):
    status, _ = assistant.api("POST", "/webhooks/rest/webhook", b"x" * (2 * 1024 * 1024), timeout=60)
    assert status == 413


def test_rest_metadata_is_bounded(assistant):
    sender = "rest:" + uuid.uuid4().hex[:8]
    big = {"sender": sender, "message": "hello", "metadata": {"note": "x" * 5000}}
    status, body = assistant.api("POST", "/webhooks/rest/webhook", big)
    assert status == 413 and "metadata" in body["error"]
    small = {"sender": sender, "message": "hello", "metadata": {"ticket": "A-17"}}
    assert assistant.api("POST", "/webhooks/rest/webhook", small)[0] == 200


def test_a_token_that_begins_with_a_dash_still_starts_the_server(tmp_path):
    # One generated token in 64 begins with "-", which argparse took for an option: Rasa did not start.
    from bot.running_assistant import RunningAssistant

    assistant = RunningAssistant(tmp_path, token="-" + "d" * 42)
    try:
        assert assistant.api("GET", "/status")[0] == 200
    finally:
        assistant.stop()
