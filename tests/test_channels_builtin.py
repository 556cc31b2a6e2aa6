"""Telegram, Facebook Messenger and WhatsApp (Twilio), on Rasa's built-in channels.

credentials.yml starts them through Rasa's own loader when their variables are set and leaves
them out, naming the variables, when not. Over real HTTP against the trained assistant: forged,
unsigned and malformed requests get a 4xx and leave no trace in the tracker store; signed ones
reach the bot. Telegram answers arrive at the vendor stand-in; Messenger's and Twilio's answers
go to graph.facebook.com and api.twilio.com, which the tests cannot reach: the turn must still
be stored and the failure logged.
"""
import hashlib
import hmac
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from rasa.core.channels.channel import register
from rasa.core.run import create_http_input_channels
from sanic import Sanic
from twilio.request_validator import RequestValidator

from actions.common import button
from actions.topics import procedure_buttons
from bot.conversation_ids import conversation_id
from bot.channels.common import MAX_BODY_BYTES, MEDIA_MESSAGE, numbered_options
from bot.channels.credentials import startable_channels, write_startable_credentials
from bot.channels.messenger import QUICK_REPLY_TITLE_CHARS, SignedMessengerInput, hub_signature, with_quick_replies
from bot.channels.telegram import CALLBACK_DATA_LIMIT, CallbackData, SecretTelegramInput
from bot.channels.twilio import SignedTwilioInput
from bot.content import PROCEDURES, TOPICS, default_content, labels
from bot.language import detect_language
from tests import channel_env as secrets
from tests.helpers import stored_rows, stored_turns, user_events
from bot.running_assistant import PROJECT_ROOT

CHANNELS = {
    "bot.channels.telegram.SecretTelegramInput": ("telegram", SecretTelegramInput),
    "bot.channels.messenger.SignedMessengerInput": ("facebook", SignedMessengerInput),
    "bot.channels.twilio.SignedTwilioInput": ("twilio", SignedTwilioInput),
}
VARIABLES = {
    "bot.channels.telegram.SecretTelegramInput": ["TELEGRAM_BOT_TOKEN", "TELEGRAM_SECRET_TOKEN"],
    "bot.channels.messenger.SignedMessengerInput": [
        "MESSENGER_APP_SECRET", "MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_VERIFY_TOKEN"],
    "bot.channels.twilio.SignedTwilioInput": [
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WEBHOOK_URL", "TWILIO_WHATSAPP_NUMBER"],
}


def project_credentials():
    return yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))


# --- credentials.yml, with Rasa's own loader ------------------------------------------------------

def test_credentials_yml_starts_the_three_channels_with_rasas_loader(tmp_path, monkeypatch, vendor_api):
    env = secrets.channel_env(vendor_api.url)
    started, left_out = startable_channels(project_credentials(), env)
    assert not set(CHANNELS) & set(left_out)
    written = tmp_path / "credentials.yml"
    # Only ours: the other channels are loaded by their own tests.
    written.write_text(yaml.safe_dump({key: started[key] for key in CHANNELS}), encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    telegram_calls_before = len(vendor_api.received("/bot"))

    channels = create_http_input_channels(None, str(written))
    app = Sanic("channels_builtin_" + uuid.uuid4().hex[:8])
    register(channels, app, "/webhooks/")

    assert {c.name(): type(c) for c in channels} == dict(CHANNELS.values())
    routes = {(route.path, method) for route in app.router.routes for method in route.methods}
    for name in ("telegram", "facebook", "twilio"):
        assert (f"webhooks/{name}/webhook", "POST") in routes
    assert ("webhooks/facebook/webhook", "GET") in routes  # Meta's verification call
    by_name = {c.name(): c for c in channels}
    assert by_name["telegram"].secret_token == secrets.TELEGRAM_SECRET_TOKEN
    assert by_name["telegram"].api_endpoint == vendor_api.url
    assert by_name["facebook"].fb_secret == secrets.MESSENGER_APP_SECRET
    assert by_name["twilio"].webhook_url == secrets.TWILIO_WEBHOOK_URL
    # Rasa's own Telegram channel calls setWebhook here; ours reaches nothing at start-up.
    assert len(vendor_api.received("/bot")) == telegram_calls_before


def test_channels_whose_variables_are_unset_are_left_out_with_a_log_line(tmp_path, caplog):
    env = {name: value for name, value in secrets.channel_env("http://127.0.0.1:9").items()
           if not name.startswith(("TELEGRAM_", "MESSENGER_", "TWILIO_"))}
    written = tmp_path / "credentials.yml"

    left_out = write_startable_credentials(PROJECT_ROOT / "credentials.yml", written, env)

    assert {key: left_out.get(key) for key in CHANNELS} == VARIABLES
    assert not set(CHANNELS) & set(yaml.safe_load(written.read_text(encoding="utf-8")) or {})
    for key, variables in VARIABLES.items():
        assert f"Channel {key} is not started: set {', '.join(variables)} to start it." in caplog.text


# --- buttons in each app ---------------------------------------------------------------------------

def every_button_the_bot_offers():
    for topic in TOPICS:
        for language in ("th", "ko", "en", "zh"):
            yield from procedure_buttons(topic, language)
    for intent in labels()["intents"]:
        for procedure in (None, *PROCEDURES):
            yield button("title", intent, {"procedure": procedure} if procedure else None)
    yield button("title", "out_of_scope")
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for variations in domain.get("responses", {}).values():
        for variation in variations:
            yield from variation.get("buttons") or []


def test_every_button_payload_fits_telegrams_callback_data():
    too_long = {b["payload"] for b in every_button_the_bot_offers()
                if len(b["payload"].encode("utf-8")) > CALLBACK_DATA_LIMIT}
    assert not too_long


def test_a_payload_too_long_for_telegram_is_sent_as_a_digest_and_read_back():
    callback_data = CallbackData()
    payload = "/ask_procedure_steps" + json.dumps({"procedure": "endoscopic_discectomy", "language": "th"})
    data = callback_data.encode(payload)
    assert len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT
    assert callback_data.decode(data) == payload
    assert CallbackData().decode(data) is None  # forgotten after a restart: the title is used instead
    assert callback_data.encode("/greet") == "/greet"


def test_messenger_quick_replies_keep_similar_thai_titles_apart():
    buttons = procedure_buttons("risks", "th")
    message = with_quick_replies("ผ่าตัดแบบไหนคะ", buttons)
    labels_shown = [reply["title"] for reply in message["quick_replies"]]
    assert [reply["payload"] for reply in message["quick_replies"]] == [b["payload"] for b in buttons]
    assert all(len(label) <= QUICK_REPLY_TITLE_CHARS for label in labels_shown)
    assert len(set(labels_shown)) == len(buttons)
    for button_ in buttons:  # the full titles are in the text
        assert button_["title"] in message["text"]
    korean = procedure_buttons("risks", "ko")  # short enough to show as they are
    assert [reply["title"] for reply in with_quick_replies("?", korean)["quick_replies"]] == [b["title"] for b in korean]


def test_whatsapp_buttons_are_a_numbered_list_without_payloads():
    buttons = procedure_buttons("risks", "en")
    text = numbered_options("Which procedure do you mean?", buttons)
    assert text.splitlines()[2:] == [f"{n}. {b['title']}" for n, b in enumerate(buttons, start=1)]
    assert "/ask_risks" not in text


# --- over HTTP against the assistant -------------------------------------------------------------

def post(url, body, headers=None, method="POST"):
    """(status, body text) of one request."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def wait_for_log(assistant, *texts, timeout=10.0):
    """Waits until Rasa's log has one of `texts`."""
    log = Path(assistant.logs[1].name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(text in log.read_text(encoding="utf-8", errors="replace") for text in texts):
            return
        time.sleep(0.2)
    raise AssertionError(f"none of {texts!r} is in {log}")


def still_serving(assistant):
    assert post(assistant.api_url("/webhooks/rest/webhook"),
                json.dumps({"sender": "after-" + uuid.uuid4().hex[:8], "message": "hello"}).encode(),
                {"Content-Type": "application/json"})[0] == 200


# Telegram

def telegram_url(assistant):
    return assistant.url + "/webhooks/telegram/webhook"


def new_chat():
    return random.randint(10**9, 10**10)


def telegram_update(**update):
    return json.dumps({"update_id": random.randint(1, 10**9), **update}, ensure_ascii=False).encode("utf-8")


def text_update(chat, text, language_code="en"):
    return telegram_update(message={
        "message_id": 1, "date": int(time.time()), "text": text,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "Patient", "language_code": language_code}})


def post_telegram(assistant, body, secret=secrets.TELEGRAM_SECRET_TOKEN):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return post(telegram_url(assistant), body, headers)


def form(request):
    """The fields aiogram posted (form-encoded), with the keyboard decoded."""
    fields = {key: values[0] for key, values in urllib.parse.parse_qs(request["body"].decode("utf-8")).items()}
    if "reply_markup" in fields:
        fields["reply_markup"] = json.loads(fields["reply_markup"])
    return fields


def sent_to_chat(vendor_api, chat, method="sendMessage", after=0):
    return [form(r) for r in vendor_api.received("/bot")[after:]
            if r["path"].endswith("/" + method) and form(r).get("chat_id") == str(chat)]


@pytest.mark.parametrize("secret,status", [(None, 401), ("", 401), ("not-the-secret", 403),
                                           (secrets.TELEGRAM_SECRET_TOKEN + "x", 403)])
def test_telegram_refuses_updates_without_the_secret_token(assistant, vendor_api, secret, status):
    chat = new_chat()
    assert post_telegram(assistant, text_update(chat, "What are the risks of MISS?"), secret)[0] == status
    assert stored_rows(assistant.tracker_db, conversation_id("telegram", chat)) == 0
    assert not sent_to_chat(vendor_api, chat)


@pytest.mark.parametrize("language,text,procedure,topic", [
    ("th", "ไมโครดิสเอกโตมีมีความเสี่ยงอะไรบ้างคะ", "microdiscectomy", "risks"),
    ("ko", "미세 후궁절제술 후 회복은 얼마나 걸리나요?", "microlaminectomy", "recovery"),
])
def test_telegram_text_is_answered_in_the_patients_language(assistant, vendor_api, language, text, procedure, topic):
    chat = new_chat()
    # The patient's Telegram app is in English: the message's own language decides.
    assert post_telegram(assistant, text_update(chat, text, language_code="en"))[0] == 200
    stored_turns(assistant.tracker_db, conversation_id("telegram", chat))
    answers = [m["text"].strip() for m in sent_to_chat(vendor_api, chat)]
    assert {detect_language(answer) for answer in answers} - {None} == {language}
    answer = default_content().answer(procedure, topic, language).text
    assert answer.split("\n\n")[0].strip() in answers
    assert user_events(assistant.tracker_db, conversation_id("telegram", chat))[-1]["text"] == text


def test_telegram_buttons_are_an_inline_keyboard_and_a_tap_sends_the_payload(assistant, vendor_api):
    chat = new_chat()
    assert post_telegram(assistant, text_update(chat, "What are the risks of the operation?"))[0] == 200
    stored_turns(assistant.tracker_db, conversation_id("telegram", chat))
    keyboards = [m["reply_markup"]["inline_keyboard"] for m in sent_to_chat(vendor_api, chat) if "reply_markup" in m]
    assert len(keyboards) == 1
    offered = procedure_buttons("risks", "en")
    assert keyboards[0] == [[{"text": b["title"], "callback_data": b["payload"]}] for b in offered]

    before = len(vendor_api.received("/bot"))
    tapped = offered[1]
    query_id = uuid.uuid4().hex
    tap = telegram_update(callback_query={
        "id": query_id, "data": tapped["payload"], "chat_instance": "1",
        "from": {"id": chat, "is_bot": False, "first_name": "Patient"},
        "message": {"message_id": 2, "date": int(time.time()), "text": "Which procedure?",
                    "chat": {"id": chat, "type": "private"}}})
    assert post_telegram(assistant, tap)[0] == 200

    latest = stored_turns(assistant.tracker_db, conversation_id("telegram", chat), 2)[-1]
    assert latest["text"] == tapped["payload"]
    assert latest["parse_data"]["intent"]["name"] == "ask_risks"
    acknowledged = [form(r) for r in vendor_api.received("/bot")[before:] if r["path"].endswith("/answerCallbackQuery")]
    assert {"callback_query_id": query_id} in acknowledged
    answer = default_content().answer(PROCEDURES[1], "risks", "en").text
    assert answer.split("\n\n")[0].strip() in [m["text"].strip() for m in sent_to_chat(vendor_api, chat, after=before)]


def test_telegram_start_greets_in_the_language_of_the_patients_app(assistant, vendor_api):
    chat = new_chat()
    assert post_telegram(assistant, text_update(chat, "/start", language_code="th"))[0] == 200
    stored_turns(assistant.tracker_db, conversation_id("telegram", chat))
    answers = [m["text"] for m in sent_to_chat(vendor_api, chat)]
    assert answers and {detect_language(answer) for answer in answers} - {None} == {"th"}


def test_a_telegram_sticker_reaches_the_bot_as_media(assistant, vendor_api):
    chat = new_chat()
    assert post_telegram(assistant, text_update(chat, "สวัสดีค่ะ", language_code="th"))[0] == 200
    stored_turns(assistant.tracker_db, conversation_id("telegram", chat))
    sticker = telegram_update(message={"message_id": 3, "date": int(time.time()),
                                       "chat": {"id": chat, "type": "private"},
                                       "sticker": {"file_id": "x", "emoji": "👍"}})
    before = len(vendor_api.received("/bot"))
    assert post_telegram(assistant, sticker)[0] == 200
    assert stored_turns(assistant.tracker_db, conversation_id("telegram", chat), 2)[-1]["text"] == MEDIA_MESSAGE
    answers = [m["text"] for m in sent_to_chat(vendor_api, chat, after=before)]
    assert answers and {detect_language(answer) for answer in answers} - {None} == {"th"}


@pytest.mark.parametrize("body,status", [
    (b"not json", 400),
    (b"[]", 400),
    (b'{"message": {"text": "no update id"}}', 400),
    (b'{"update_id": 1, "message": "text"}', 400),
    (b'{"update_id": 1, "message": {"text": "no chat"}}', 400),
    (b'{"update_id": 1, "message": {"chat": {"id": 5}, "text": 42}}', 400),
    (b'{"update_id": 1, "callback_query": {"data": "/greet"}}', 400),
    (b'{"update_id": 1, "edited_message": {"chat": {"id": 5}, "text": "edited"}}', 200),
    (b'{"update_id": 1, "poll": {"id": "1"}}', 200),
    (b'{"update_id": 1, "message": {"chat": {"id": 5}, "new_chat_members": []}}', 200),
    (b'{"update_id": 1, "message": {"chat": {"id": 5}}, "x": "' + b"a" * MAX_BODY_BYTES + b'"}', 413),
])
def test_malformed_telegram_updates_get_a_4xx_and_unhandled_kinds_are_acknowledged(assistant, body, status):
    assert post_telegram(assistant, body)[0] == status
    assert stored_rows(assistant.tracker_db, conversation_id("telegram", 5)) == 0
    still_serving(assistant)


# Messenger

def messenger_url(assistant):
    return assistant.url + "/webhooks/facebook/webhook"


def messenger_body(*messages):
    """Meta's page event for (sender, message) pairs, in one batch."""
    events = [{"sender": {"id": sender}, "recipient": {"id": "page"}, "timestamp": int(time.time() * 1000),
               "message": {"mid": uuid.uuid4().hex, **message}} for sender, message in messages]
    return json.dumps({"object": "page", "entry": [{"id": "page", "time": 0, "messaging": events}]},
                      ensure_ascii=False).encode("utf-8")


def signed(body, secret=secrets.MESSENGER_APP_SECRET):
    return {"Content-Type": "application/json", "X-Hub-Signature-256": hub_signature(secret, body)}


def new_psid():
    return str(random.randint(10**15, 10**16))


FORGED_MESSENGER_HEADERS = {
    "no signature": lambda body: ({}, 401),
    "empty signature": lambda body: ({"X-Hub-Signature-256": ""}, 401),
    "wrong secret": lambda body: ({"X-Hub-Signature-256": hub_signature("not-the-app-secret", body)}, 403),
    "another body's signature": lambda body: ({"X-Hub-Signature-256": hub_signature(
        secrets.MESSENGER_APP_SECRET, body + b" ")}, 403),
    "sha1 only": lambda body: ({"X-Hub-Signature": "sha1=" + hmac.new(
        secrets.MESSENGER_APP_SECRET.encode(), body, hashlib.sha1).hexdigest()}, 401),
    "md5": lambda body: ({"X-Hub-Signature-256": "md5=" + hmac.new(
        secrets.MESSENGER_APP_SECRET.encode(), body, hashlib.md5).hexdigest()}, 403),
    "not a hash name": lambda body: ({"X-Hub-Signature-256": "foo=bar"}, 403),
    "no equals sign": lambda body: ({"X-Hub-Signature-256": "sha256"}, 403),
    "not hex": lambda body: ({"X-Hub-Signature-256": "sha256=" + "z" * 64}, 403),
}


@pytest.mark.parametrize("case", FORGED_MESSENGER_HEADERS)
def test_forged_messenger_requests_are_refused_and_leave_no_trace(assistant, case):
    sender = new_psid()
    body = messenger_body((sender, {"text": "What are the risks of MISS?"}))
    headers, status = FORGED_MESSENGER_HEADERS[case](body)
    assert post(messenger_url(assistant), body, {"Content-Type": "application/json", **headers})[0] == status
    assert stored_rows(assistant.tracker_db, conversation_id("facebook", sender)) == 0
    still_serving(assistant)


def test_a_signed_messenger_batch_is_accepted_and_stored_though_facebook_is_unreachable(assistant):
    sender = new_psid()
    body = messenger_body((sender, {"text": "What is a microdiscectomy?"}),
                          (sender, {"attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}]}),
                          (sender, {"text": "and the risks?", "is_echo": True}))
    assert post(messenger_url(assistant), body, signed(body)) == (200, '{"status":"ok"}')
    assert [event["text"] for event in stored_turns(assistant.tracker_db, conversation_id("facebook", sender), 2)] == ["What is a microdiscectomy?", MEDIA_MESSAGE]
    assert stored_rows(assistant.tracker_db, conversation_id("facebook", sender), "bot") > 0
    # The answers did not reach a patient (no network, or Facebook refusing a made-up sender): logged,
    # without the page token.
    wait_for_log(assistant, "facebook: could not send a message to the Graph API",
                 "facebook: the Graph API refused a message")
    assert secrets.channel_env("")["MESSENGER_PAGE_ACCESS_TOKEN"] not in Path(assistant.logs[1].name).read_text(
        encoding="utf-8", errors="replace")


def test_a_messenger_quick_reply_reaches_the_bot_as_its_payload(assistant):
    sender = new_psid()
    payload = procedure_buttons("recovery", "en")[2]["payload"]
    body = messenger_body((sender, {"text": "Microlaminectomy", "quick_reply": {"payload": payload}}))
    assert post(messenger_url(assistant), body, signed(body))[0] == 200
    assert stored_turns(assistant.tracker_db, conversation_id("facebook", sender))[-1]["text"] == payload


@pytest.mark.parametrize("body,status", [
    (b"not json", 400),
    (b"[]", 400),
    (b'{"object": "page"}', 400),
    (b'{"object": "page", "entry": "x"}', 400),
    (b'{"object": "page", "entry": [{"messaging": [{"message": {"text": "no sender"}}]}]}', 400),
    (b'{"object": "page", "entry": [{"messaging": [{"sender": {"id": "5"}, "message": "x"}]}]}', 400),
    (b'{"object": "instagram", "entry": []}', 400),
    (b'{"object": "page", "entry": [{"messaging": [{"sender": {"id": "5"}, "delivery": {}}]}]}', 200),
    (b'{"object": "page", "entry": [], "x": "' + b"a" * MAX_BODY_BYTES + b'"}', 413),
])
def test_malformed_messenger_bodies_get_a_4xx_and_the_server_keeps_serving(assistant, body, status):
    assert post(messenger_url(assistant), body, signed(body))[0] == status
    assert stored_rows(assistant.tracker_db, conversation_id("facebook", "5")) == 0
    still_serving(assistant)


def test_messenger_webhook_verification_answers_the_challenge_only_with_the_verify_token(assistant):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": secrets.MESSENGER_VERIFY_TOKEN}
    def verify():
        return post(messenger_url(assistant) + "?" + urllib.parse.urlencode(query), None, method="GET")

    assert verify() == (200, "1158201444")
    query["hub.verify_token"] = "guessed"
    assert verify()[0] == 403


# WhatsApp through Twilio

def twilio_url(assistant):
    return assistant.url + "/webhooks/twilio/webhook"


def whatsapp_message(sender, body="", **fields):
    return {"SmsMessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "ACtest00000000000000000000000000",
            "From": sender, "To": "whatsapp:+15550000000", "Body": body, "NumMedia": "0", **fields}


def post_twilio(assistant, fields, token=secrets.TWILIO_AUTH_TOKEN, signature=None, url=secrets.TWILIO_WEBHOOK_URL):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    signature = RequestValidator(token).compute_signature(url, fields) if signature is None else signature
    if signature:
        headers["X-Twilio-Signature"] = signature
    return post(twilio_url(assistant), urllib.parse.urlencode(fields).encode(), headers)


def new_whatsapp_number():
    return f"whatsapp:+66{random.randint(10**8, 10**9 - 1)}"


@pytest.mark.parametrize("forge", ["no signature", "wrong auth token", "tampered body", "signed for another URL"])
def test_forged_twilio_requests_are_refused_and_leave_no_trace(assistant, forge):
    sender = new_whatsapp_number()
    fields = whatsapp_message(sender, "What are the risks of MISS?")
    if forge == "no signature":
        status = post_twilio(assistant, fields, signature="")[0]
    elif forge == "wrong auth token":
        status = post_twilio(assistant, fields, token="not-the-auth-token")[0]
    elif forge == "tampered body":
        signature = RequestValidator(secrets.TWILIO_AUTH_TOKEN).compute_signature(secrets.TWILIO_WEBHOOK_URL, fields)
        status = post_twilio(assistant, dict(fields, Body="I need a person now"), signature=signature)[0]
    else:
        status = post_twilio(assistant, fields, url="https://attacker.example/webhooks/twilio/webhook")[0]
    assert status == (401 if forge == "no signature" else 403)
    assert stored_rows(assistant.tracker_db, sender) == 0
    still_serving(assistant)


def test_a_signed_whatsapp_message_is_accepted_and_stored_though_twilio_is_unreachable(assistant):
    sender = new_whatsapp_number()
    status, body = post_twilio(assistant, whatsapp_message(sender, "What is an endoscopic discectomy?"))
    assert status == 200 and "<Response>" in body
    assert user_events(assistant.tracker_db, sender)[-1]["text"] == "What is an endoscopic discectomy?"
    assert stored_rows(assistant.tracker_db, sender, "bot") > 0
    wait_for_log(assistant, "twilio: could not reach Twilio", "twilio: Twilio refused a message")


def test_a_typed_number_answers_the_whatsapp_list_with_that_buttons_payload(assistant):
    sender = new_whatsapp_number()
    assert post_twilio(assistant, whatsapp_message(sender, "What are the risks of the operation?"))[0] == 200
    assert post_twilio(assistant, whatsapp_message(sender, "2"))[0] == 200
    expected = procedure_buttons("risks", "en")[1]["payload"]
    latest = user_events(assistant.tracker_db, sender)[-1]
    assert latest["text"] == expected
    assert latest["parse_data"]["entities"][0]["value"] == PROCEDURES[1]


def test_a_whatsapp_photo_without_text_reaches_the_bot_as_media(assistant):
    sender = new_whatsapp_number()
    fields = whatsapp_message(sender, "", NumMedia="1", MediaContentType0="image/jpeg",
                              MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME")
    assert post_twilio(assistant, fields)[0] == 200
    assert user_events(assistant.tracker_db, sender)[-1]["text"] == MEDIA_MESSAGE


@pytest.mark.parametrize("fields,status", [
    ({"Body": "no sender"}, 400),
    ({"From": "whatsapp:+660000000001"}, 400),
    ({"From": "whatsapp:+660000000001", "Body": "", "NumMedia": "many"}, 400),
    ({"From": "whatsapp:+660000000001", "Body": "\u200b\u200b"}, 400),
    ({"From": "whatsapp:+660000000001", "Body": "x" * (MAX_BODY_BYTES + 1)}, 413),
])
def test_malformed_twilio_messages_get_a_4xx_and_the_server_keeps_serving(assistant, fields, status):
    assert post_twilio(assistant, fields)[0] == status
    assert stored_rows(assistant.tracker_db, "whatsapp:+660000000001") == 0
    still_serving(assistant)


def test_a_twilio_body_that_is_not_a_form_is_refused(assistant):
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": RequestValidator(
        secrets.TWILIO_AUTH_TOKEN).compute_signature(secrets.TWILIO_WEBHOOK_URL, {})}
    assert post(twilio_url(assistant), b'{"From": "whatsapp:+1", "Body": "hi"}', headers)[0] in (400, 403)
    assert post(twilio_url(assistant), b"\xff\xfe\x00", headers)[0] in (400, 403)
    still_serving(assistant)
