"""An urgent symptom is answered when the action server is slow or down: the safety answers are
domain responses Rasa sends itself, a custom action gets a short deadline, and a question that
needed the action server gets a polite answer with the hospital's number instead of silence.
Driven over REST and KakaoTalk against the trained model, with the action server paused (SIGSTOP)
and then killed; and `make run`'s script restarts an action server that died."""
import os
import secrets
import signal
import stat
import subprocess
import time
import uuid

import pytest

from bot.conversation_ids import conversation_id
from bot.channels.kakao import SECRET_HEADER
from bot.running_assistant import PROJECT_ROOT, RunningAssistant, free_port, http, own_endpoints
from tests.channel_env import KAKAO_SKILL_SECRET
from tests.helpers import language_of

URGENT = {
    "en": "I cannot feel my legs and lost bladder control",
    "th": "แม่ผ่าตัดหลังมาสามวัน ตอนนี้ยกขาไม่ขึ้นเลยค่ะ",
    "ko": "아빠가 수술 받고 나서 오늘 아침부터 다리를 못 움직여요",
    "zh": "我爸做完手术伤口一直流黄水还发烧",
}
EMERGENCY = "1669"
HOSPITAL_PHONE = "02-555-0100"
# Long enough for the action deadline (ACTION_SERVER_TIMEOUT, 3 s) and a loaded CI machine; far
# shorter than Rasa's own 300 s wait, so a silent patient fails the test.
ANSWER_WITHIN_S = 20


@pytest.fixture(scope="module")
def outage_assistant(tmp_path_factory):
    running = RunningAssistant(tmp_path_factory.mktemp("outage"),
                               env={"KAKAO_SKILL_SECRET": KAKAO_SKILL_SECRET, "HOSPITAL_PHONE": HOSPITAL_PHONE})
    yield running
    if running.processes[0].poll() is None:
        os.kill(running.processes[0].pid, signal.SIGCONT)
    running.stop()


def say(assistant, sender, text):
    status, body = assistant.api("POST", "/webhooks/rest/webhook", {"sender": sender, "message": text},
                        timeout=ANSWER_WITHIN_S)
    assert status == 200, body
    return "\n".join(m.get("text") or "" for m in body)


def kakao(assistant, user_id, utterance):
    request = {"userRequest": {"utterance": utterance, "user": {"id": user_id, "type": "botUserKey"}},
               "action": {"name": "rasa"}}
    status, body = http("POST", assistant.url + "/webhooks/kakao/webhook", request,
                        headers={SECRET_HEADER: KAKAO_SKILL_SECRET}, timeout=ANSWER_WITHIN_S)
    assert status == 200, body
    return "\n".join(o["simpleText"]["text"] for o in body["template"]["outputs"])


def slots(assistant, sender):
    return assistant.api("GET", f"/conversations/{conversation_id('rest', sender)}/tracker")[1]["slots"]


def check_safety_answers(assistant, label):
    for language, text in URGENT.items():
        sender = f"{label}-{language}-{uuid.uuid4().hex[:6]}"
        reply = say(assistant, sender, text)
        assert EMERGENCY in reply and HOSPITAL_PHONE in reply and language_of(reply) == language, reply
        assert slots(assistant, sender)["red_flag_raised"] is True
    sender = f"{label}-handoff-{uuid.uuid4().hex[:6]}"
    assert HOSPITAL_PHONE in say(assistant, sender, "I want to talk to a nurse please")
    assert slots(assistant, sender)["handoff_requested"] is True
    reply = kakao(assistant, f"kakao-{uuid.uuid4().hex[:8]}", "엄마가 수술 후에 소변을 못 봐요 어제부터요")
    assert EMERGENCY in reply and language_of(reply) == "ko", reply
    # A question that needs the action server: a polite answer with the number, never silence.
    reply = say(assistant, f"{label}-topic-{uuid.uuid4().hex[:6]}", "what are the risks of a microdiscectomy?")
    assert HOSPITAL_PHONE in reply and "try again" in reply, reply


def test_the_action_server_answers_normally_before_the_outage(outage_assistant):
    reply = say(outage_assistant, "before-" + uuid.uuid4().hex[:6], "what are the risks of a microdiscectomy?")
    assert "nerve" in reply.lower()


def test_with_the_action_server_paused_urgent_symptoms_are_still_answered(outage_assistant):
    action_server = outage_assistant.processes[0]
    os.kill(action_server.pid, signal.SIGSTOP)
    try:
        check_safety_answers(outage_assistant, "paused")
    finally:
        os.kill(action_server.pid, signal.SIGCONT)
    reply = say(outage_assistant, "resumed-" + uuid.uuid4().hex[:6], "what are the risks of a microdiscectomy?")
    assert "nerve" in reply.lower()


def test_with_the_action_server_stopped_urgent_symptoms_are_still_answered(outage_assistant):
    action_server = outage_assistant.processes[0]
    action_server.kill()
    action_server.wait(timeout=10)
    check_safety_answers(outage_assistant, "stopped")


def wait_for(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def test_make_run_restarts_an_action_server_that_died(tmp_path):
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "WEB_PORT": free_port()}
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(own_endpoints(ports["ACTION_PORT"], tmp_path / "tracker.db"), encoding="utf-8")
    token = secrets.token_urlsafe(32)
    env = dict(os.environ, **{k: str(v) for k, v in ports.items()}, ENDPOINTS=str(endpoints), RESTART_DELAY="1",
               HOSPITAL_PHONE=HOSPITAL_PHONE, RASA_AUTH_TOKEN=token)
    log = open(tmp_path / "serve.log", "wb")
    serve = subprocess.Popen(["scripts/serve.sh"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    rasa = f"http://127.0.0.1:{ports['RASA_PORT']}"
    with_token = "?token=" + token
    health = f"http://127.0.0.1:{ports['ACTION_PORT']}/health"
    try:
        assert wait_for(lambda: http("GET", rasa + "/status" + with_token, timeout=2)[0] == 200
                        and http("GET", health, timeout=2)[0] == 200)
        assert http("GET", rasa + "/status")[0] == 401  # make run's API never answers without the token
        # What make run writes (the conversation store, the channels' settings) only its user can read.
        for written in (tmp_path / "tracker.db", PROJECT_ROOT / "var" / "credentials.yml"):
            assert stat.S_IMODE(written.stat().st_mode) == 0o600, written
        [pid] = subprocess.run(["pgrep", "-f", f"bot.action_server --host 127.0.0.1 --port {ports['ACTION_PORT']}"],
                               capture_output=True, text=True).stdout.split()
        os.kill(int(pid), signal.SIGKILL)
        status, body = http("POST", rasa + "/webhooks/rest/webhook" + with_token,
                            {"sender": "restart-" + uuid.uuid4().hex[:6], "message": URGENT["en"]}, timeout=ANSWER_WITHIN_S)
        assert status == 200 and EMERGENCY in body[0]["text"]
        assert wait_for(lambda: http("GET", health, timeout=2)[0] == 200, timeout=60), "the action server was not restarted"
        status, body = http("POST", rasa + "/webhooks/rest/webhook" + with_token,
                            {"sender": "restart-" + uuid.uuid4().hex[:6], "message": "what are the risks of a microdiscectomy?"})
        assert status == 200 and "nerve" in " ".join(m.get("text", "") for m in body).lower()
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        log.close()
    assert wait_for(lambda: subprocess.run(["pgrep", "-f", "--", f"--port {ports['ACTION_PORT']}"]).returncode == 1, timeout=30)
    assert "starting it again" in (tmp_path / "serve.log").read_text(errors="replace")
