"""The LINE channel over real HTTP: signed webhook calls in, LINE API calls out to the stand-in.

Bodies are signed as LINE signs them (HMAC-SHA256 of the raw body with the channel secret,
base64); the first test checks that line-bot-sdk's own validator accepts that signature.
"""
import base64
import hashlib
import hmac
import json
import uuid

import pytest
from linebot.webhook import SignatureValidator

from actions.topics import procedure_buttons
from bot.conversation_ids import conversation_id
from bot.channels.common import MAX_BODY_BYTES, MEDIA_MESSAGE, Refused
from bot.channels.line import (
    MAX_LABEL_CHARS, MAX_MESSAGES_PER_CALL, MAX_QUICK_REPLY_ITEMS, check_signature, line_messages, quick_reply,
)
from bot.content import default_content
from tests.channel_env import LINE_CHANNEL_SECRET, channel_env
from bot.running_assistant import http
from tests.helpers import QUESTION_PER_LANGUAGE, language_of, stored_rows, user_intents

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"


# --- LINE's side of the exchange ---------------------------------------------------------------

def sign(body: bytes, secret: str = LINE_CHANNEL_SECRET) -> str:
    """X-Line-Signature exactly as LINE computes it."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def new_user() -> str:
    return "U" + uuid.uuid4().hex


def new_token() -> str:
    return uuid.uuid4().hex


def source(user_id):
    return {"type": "user", "userId": user_id}


def text_event(user_id, text, reply_token=None):
    return {"type": "message", "mode": "active", "timestamp": 1700000000000, "source": source(user_id),
            "webhookEventId": "01" + uuid.uuid4().hex.upper()[:24], "deliveryContext": {"isRedelivery": False},
            "replyToken": reply_token or new_token(),
            "message": {"id": str(uuid.uuid4().int)[:18], "type": "text", "text": text}}


def postback_event(user_id, data, reply_token=None):
    return {"type": "postback", "mode": "active", "timestamp": 1700000000000, "source": source(user_id),
            "webhookEventId": "01" + uuid.uuid4().hex.upper()[:24], "deliveryContext": {"isRedelivery": False},
            "replyToken": reply_token or new_token(), "postback": {"data": data}}


MEDIA = {
    "sticker": {"type": "sticker", "packageId": "446", "stickerId": "1988", "stickerResourceType": "STATIC"},
    "image": {"type": "image", "contentProvider": {"type": "line"}},
    "location": {"type": "location", "title": "Hospital", "address": "Bangkok", "latitude": 13.75, "longitude": 100.5},
    "audio": {"type": "audio", "duration": 6000, "contentProvider": {"type": "line"}},
}


def media_event(user_id, kind, reply_token=None):
    event = text_event(user_id, "", reply_token)
    event["message"] = dict(MEDIA[kind], id=event["message"]["id"])
    return event


def webhook_body(*events) -> bytes:
    return json.dumps({"destination": "U" + "0" * 32, "events": list(events)}, ensure_ascii=False).encode()


def post(assistant, body: bytes, signature=None, signed=True):
    """(status, parsed JSON) of one webhook call; signed with the channel secret unless told otherwise."""
    if signature is None and signed:
        signature = sign(body)
    headers = {} if signature is None else {"X-Line-Signature": signature}
    return http("POST", f"{assistant.url}/webhooks/line/webhook", body, headers=headers)


# --- What reached LINE's API and the tracker store ------------------------------------------------

def reply_with(vendor_api, reply_token):
    """The reply call made with `reply_token`, waiting for it."""
    return vendor_api.wait_for(lambda r: r["path"] == REPLY and r["body"]["replyToken"] == reply_token)[0]


def text_of(call) -> str:
    return "\n".join(m.get("text", "") for m in call["body"]["messages"])


def answered_since_with(vendor_api, assistant, user_id, text):
    """Sends a good message for `user_id` and waits for its reply: the server still serves."""
    token = new_token()
    assert post(assistant, webhook_body(text_event(user_id, text, token)))[0] == 200
    return reply_with(vendor_api, token)


# --- Pure functions: no server needed -------------------------------------------------------------

def test_our_signature_is_the_one_line_bot_sdk_validates():
    body = webhook_body(text_event(new_user(), "สวัสดีค่ะ"))
    assert SignatureValidator(LINE_CHANNEL_SECRET).validate(body.decode(), sign(body))
    assert not SignatureValidator(LINE_CHANNEL_SECRET).validate(body.decode(), sign(body, "another secret"))
    check_signature(body, sign(body), LINE_CHANNEL_SECRET)
    with pytest.raises(Refused) as refused:
        check_signature(body + b" ", sign(body), LINE_CHANNEL_SECRET)
    assert refused.value.status == 403


def test_long_titles_fit_lines_label_limit_and_stay_distinguishable():
    titles = ["ผ่าตัดหมอนรองกระดูกด้วยกล้องขยาย (ไมโครดิสเอกโตมี)", "ผ่าตัดหมอนรองกระดูกด้วยกล้องเอ็นโดสโคป",
              "Minimally invasive spine surgery (MISS)", "미세 후궁절제술"]
    items = quick_reply([{"title": t, "payload": f"/choose{{\"n\": {n}}}"} for n, t in enumerate(titles)]).items
    labels = [item.action.label for item in items]
    assert all(0 < len(label) <= MAX_LABEL_CHARS for label in labels)
    assert len(set(labels)) == len(labels)
    assert labels[3] == titles[3]


def test_more_answers_than_line_allows_share_the_last_bubble_and_keep_every_button():
    answers = [{"text": f"answer {i}"} for i in range(7)]
    answers.append({"text": "which one?", "buttons": [{"title": f"option {i}", "payload": f"/choose{{\"n\": {i}}}"}
                                                      for i in range(20)]})
    messages = [m.as_json_dict() for m in line_messages(answers)]
    assert len(messages) == MAX_MESSAGES_PER_CALL
    assert all(f"answer {i}" in messages[-1]["text"] for i in range(4, 7)) and "which one?" in messages[-1]["text"]
    items = messages[-1]["quickReply"]["items"]
    assert [i["action"]["data"] for i in items] == [f"/choose{{\"n\": {i}}}" for i in range(MAX_QUICK_REPLY_ITEMS)]
    assert all("quickReply" not in m for m in messages[:-1])


# --- The channel in the running assistant ---------------------------------------------------------

def test_lines_webhook_verification_call_gets_200(assistant):
    status, _ = post(assistant, json.dumps({"destination": "U" + "0" * 32, "events": []}).encode())
    assert status == 200


@pytest.mark.parametrize("language,question,procedure,topic", QUESTION_PER_LANGUAGE)
def test_a_question_is_answered_by_reply_in_its_language(assistant, vendor_api, language, question, procedure, topic):
    token = new_token()
    status, _ = post(assistant, webhook_body(text_event(new_user(), question, token)))
    assert status == 200
    call = reply_with(vendor_api, token)
    headers = {name.lower(): value for name, value in call["headers"].items()}
    assert headers["authorization"] == "Bearer " + channel_env(vendor_api.url)["LINE_CHANNEL_ACCESS_TOKEN"]
    assert 1 <= len(call["body"]["messages"]) <= MAX_MESSAGES_PER_CALL
    text = text_of(call)
    assert default_content().answer(procedure, topic, language).text in text
    assert language_of(text) == language


def test_buttons_become_quick_replies_and_a_tap_sends_the_payload(assistant, vendor_api):
    user, token = new_user(), new_token()
    question = "수술 후 회복 기간은 얼마나 되나요?"
    post(assistant, webhook_body(text_event(user, question, token)))
    messages = reply_with(vendor_api, token)["body"]["messages"]
    items = messages[-1]["quickReply"]["items"]
    offered = procedure_buttons("recovery", "ko")
    assert [i["action"]["type"] for i in items] == ["postback"] * len(offered)
    assert [i["action"]["data"] for i in items] == [b["payload"] for b in offered]
    assert [i["action"]["displayText"] for i in items] == [b["title"] for b in offered]
    assert all(len(i["action"]["label"]) <= MAX_LABEL_CHARS for i in items)
    assert all("quickReply" not in m for m in messages[:-1])

    tap = new_token()
    post(assistant, webhook_body(postback_event(user, items[2]["action"]["data"], tap)))
    answer = text_of(reply_with(vendor_api, tap))
    assert default_content().answer("microlaminectomy", "recovery", "ko").text in answer


def test_a_postback_reaches_the_bot_as_its_payload(assistant, vendor_api):
    user, token = new_user(), new_token()
    post(assistant, webhook_body(postback_event(user, '/ask_risks{"procedure": "microdiscectomy"}', token)))
    assert default_content().answer("microdiscectomy", "risks", "en").text in text_of(reply_with(vendor_api, token))
    assert user_intents(assistant.tracker_db, conversation_id("line", user)) == ["ask_risks"]


def test_a_sticker_gets_the_polite_media_answer_in_the_patients_language(assistant, vendor_api):
    user, question, sticker = new_user(), new_token(), new_token()
    post(assistant, webhook_body(text_event(user, "ไมโครดิสเอกโตมีคืออะไรคะ", question)))
    reply_with(vendor_api, question)
    post(assistant, webhook_body(media_event(user, "sticker", sticker)))
    answer = text_of(reply_with(vendor_api, sticker))
    assert user_intents(assistant.tracker_db, conversation_id("line", user))[-1] == MEDIA_MESSAGE.lstrip("/")
    assert language_of(answer) == "th"


@pytest.mark.parametrize("kind", ["image", "location", "audio"])
def test_other_media_reach_the_bot_as_shared_media(assistant, vendor_api, kind):
    user, token = new_user(), new_token()
    post(assistant, webhook_body(media_event(user, kind, token)))
    assert text_of(reply_with(vendor_api, token)).strip()
    assert user_intents(assistant.tracker_db, conversation_id("line", user)) == [MEDIA_MESSAGE.lstrip("/")]


def test_an_expired_reply_token_falls_back_to_push_to_the_same_user(assistant, vendor_api):
    user, token = new_user(), new_token()
    vendor_api.answer_next(REPLY, 400)
    post(assistant, webhook_body(text_event(user, "미세현미경 디스크 제거술은 무엇인가요?", token)))
    reply_with(vendor_api, token)  # the refused attempt
    push = vendor_api.wait_for(lambda r: r["path"] == PUSH and r["body"]["to"] == user)
    assert len(push) == 1
    assert 1 <= len(push[0]["body"]["messages"]) <= MAX_MESSAGES_PER_CALL
    assert language_of(text_of(push[0])) == "ko"


def test_two_messages_in_one_call_are_answered_in_order(assistant, vendor_api):
    user, first, second = new_user(), new_token(), new_token()
    post(assistant, webhook_body(text_event(user, "What is a microdiscectomy?", first),
                                 text_event(user, "and what are the risks?", second)))
    reply_with(vendor_api, second)
    replies = [r for r in vendor_api.received(REPLY) if r["body"]["replyToken"] in (first, second)]
    assert [r["body"]["replyToken"] for r in replies] == [first, second]
    # The second answer needs the procedure named in the first: it was answered after it.
    assert default_content().answer("microdiscectomy", "risks", "en").text in text_of(replies[1])


def test_a_replayed_event_is_answered_once(assistant, vendor_api):
    user, token = new_user(), new_token()
    body = webhook_body(text_event(user, "What is a microlaminectomy?", token))
    assert post(assistant, body)[0] == 200
    reply_with(vendor_api, token)
    assert post(assistant, body)[0] == 200  # LINE redelivers with 200 expected; the event is not answered again
    answered_since_with(vendor_api, assistant, user, "thank you")  # same patient: runs after any replay
    assert len([r for r in vendor_api.received(REPLY) if r["body"]["replyToken"] == token]) == 1
    assert len(user_intents(assistant.tracker_db, conversation_id("line", user))) == 2


def forged_requests(user, token):
    body = webhook_body(text_event(user, "ไมโครดิสเอกโตมีมีความเสี่ยงอะไรบ้างคะ", token))
    changed = body.replace("ความเสี่ยง".encode(), "ราคา".encode())
    return {
        "missing signature": (body, None, 401),
        "empty signature": (body, "", 401),
        "wrong secret": (body, sign(body, "not-the-channel-secret"), 403),
        "not base64": (body, "not a signature", 403),
        "replayed with a changed body": (changed, sign(body), 403),
        # LINE signs UTF-8 JSON; line-bot-sdk's validator cannot verify other bytes, so they are refused.
        "a body that is not UTF-8": (b"\xff" + body, sign(b"\xff" + body), 403),
    }


@pytest.mark.parametrize("case", list(forged_requests("U0", "token")))
def test_unsigned_or_forged_calls_are_refused_and_leave_no_trace(assistant, vendor_api, case):
    user, token = new_user(), new_token()
    body, signature, expected = forged_requests(user, token)[case]
    status, answer = post(assistant, body, signature=signature, signed=False)
    assert status == expected and "X-Line-Signature" in answer["error"]
    # A later good call is answered; by then a forged one, had it been accepted, would have been too.
    answered_since_with(vendor_api, assistant, new_user(), "hello")
    assert stored_rows(assistant.tracker_db, conversation_id("line", user)) == 0
    assert not [r for r in vendor_api.received() if isinstance(r["body"], dict)
                and (r["body"].get("replyToken") == token or r["body"].get("to") == user)]


def malformed_bodies(user):
    good = text_event(user, "hello")
    without = lambda *path: _without(good, path)  # noqa: E731
    return {
        "not JSON": b"{events: [",
        "nested deeper than a parser goes": b"[" * 100_000,
        "a JSON list": b"[]",
        "no events": b'{"destination": "U0"}',
        "events not a list": b'{"events": {"type": "message"}}',
        "an event that is not an object": webhook_body("hello"),
        "an event without a type": webhook_body(without("type")),
        "no source": webhook_body(without("source")),
        "no userId": webhook_body(without("source", "userId")),
        "no replyToken": webhook_body(without("replyToken")),
        "no message": webhook_body(without("message")),
        "text that is not a string": webhook_body(dict(good, message={"id": "1", "type": "text", "text": 5})),
        "postback without data": webhook_body(dict(postback_event(user, "/greet"), postback={})),
        "a good event beside a bad one": webhook_body(good, without("replyToken")),
    }


def _without(event, path):
    event = json.loads(json.dumps(event))
    holder = event
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return event


@pytest.mark.parametrize("case", list(malformed_bodies("U0")))
def test_signed_but_malformed_calls_get_400_and_the_server_keeps_serving(assistant, vendor_api, case):
    user = new_user()
    body = malformed_bodies(user)[case]
    status, answer = post(assistant, body, signature=sign(body), signed=False)
    assert status == 400, (status, answer)
    assert answer["error"]
    answered_since_with(vendor_api, assistant, new_user(), "hello")
    assert stored_rows(assistant.tracker_db, conversation_id("line", user)) == 0


def group_message(user):
    return {"type": "message", "source": {"type": "group", "groupId": "C" + uuid.uuid4().hex, "userId": user},
            "replyToken": new_token(), "message": {"id": "1", "type": "text", "text": "hello"}}


IGNORED_EVENTS = {
    "follow": lambda user: {"type": "follow", "replyToken": new_token()},
    "unfollow": lambda user: {"type": "unfollow"},
    "join": lambda user: {"type": "join", "replyToken": new_token()},
    "beacon": lambda user: {"type": "beacon", "replyToken": new_token(),
                            "beacon": {"hwid": "d41d8cd98f", "type": "enter"}},
    "a type LINE adds later": lambda user: {"type": "somethingNew"},
    "a message in a group chat": group_message,
}


@pytest.mark.parametrize("kind", list(IGNORED_EVENTS))
def test_events_the_bot_does_not_answer_are_acknowledged_and_ignored(assistant, vendor_api, kind):
    user = new_user()
    event = dict({"source": source(user), "timestamp": 1700000000000, "mode": "active"}, **IGNORED_EVENTS[kind](user))
    status, _ = post(assistant, webhook_body(event))
    assert status == 200
    answered_since_with(vendor_api, assistant, user, "hello")  # same patient: runs after the ignored event
    assert len(user_intents(assistant.tracker_db, conversation_id("line", user))) == 1
    assert not [r for r in vendor_api.received(REPLY) if r["body"]["replyToken"] == event.get("replyToken")]


def test_an_oversized_body_gets_413_and_the_server_keeps_serving(assistant, vendor_api):
    user = new_user()
    body = webhook_body(text_event(user, "ก" * MAX_BODY_BYTES))
    status, answer = post(assistant, body)
    assert status == 413, (status, answer)
    answered_since_with(vendor_api, assistant, new_user(), "hello")
    assert stored_rows(assistant.tracker_db, conversation_id("line", user)) == 0
