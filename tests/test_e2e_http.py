"""The trained assistant over HTTP: conversations in every language, safety, and bad input."""
import json
import uuid

import pytest

from bot.conversation_ids import conversation_id
from bot.content import default_content
from bot.text_input import MAX_MESSAGE_CHARS
from tests.helpers import QUESTION_PER_LANGUAGE, language_of, stored_user_texts


def reply_text(messages):
    parts = []
    for message in messages:
        parts.append(message.get("text") or "")
        parts.extend(b["title"] for b in message.get("buttons") or [])
    return "\n".join(parts)


def new_sender():
    return "test-" + uuid.uuid4().hex[:12]


@pytest.mark.parametrize("language,question,procedure,topic", QUESTION_PER_LANGUAGE)
def test_a_question_is_answered_from_the_content_in_its_language(assistant, language, question, procedure, topic):
    messages = assistant.say(new_sender(), question)
    text = reply_text(messages)
    assert default_content().answer(procedure, topic, language).text in text
    assert language_of(text) == language


def test_the_procedure_carries_across_turns(assistant):
    sender = new_sender()
    assistant.say(sender, "What is a microdiscectomy?")
    text = reply_text(assistant.say(sender, "and what are the risks?"))
    assert default_content().answer("microdiscectomy", "risks", "en").text in text


def test_a_question_without_procedure_asks_then_answers_the_pending_question(assistant):
    sender = new_sender()
    messages = assistant.say(sender, "수술 후 회복 기간은 얼마나 되나요?")
    buttons = [b for m in messages for b in m.get("buttons") or []]
    assert [b["title"] for b in buttons] == ["미세현미경 디스크 제거술", "내시경 추간판 제거술", "미세 후궁절제술", "최소침습 척추 수술"]
    # Clicking a button sends its payload: no language signal, so the conversation stays Korean.
    answer = reply_text(assistant.say(sender, buttons[2]["payload"]))
    assert default_content().answer("microlaminectomy", "recovery", "ko").text in answer


def test_typing_the_procedure_answers_the_pending_question(assistant):
    sender = new_sender()
    assistant.say(sender, "ผ่าตัดแล้วต้องพักฟื้นกี่วันคะ")
    answer = reply_text(assistant.say(sender, "ไมโครลามิเนกโตมีค่ะ"))
    assert default_content().answer("microlaminectomy", "recovery", "th").text in answer


def test_the_notice_comes_once_per_session(assistant):
    sender = new_sender()
    first = reply_text(assistant.say(sender, "hello"))
    second = reply_text(assistant.say(sender, "what is MISS?"))
    assert "not medical advice" in first
    assert "not medical advice" not in second


def test_reply_language_follows_the_latest_message_and_neutral_messages_keep_it(assistant):
    sender = new_sender()
    assert language_of(reply_text(assistant.say(sender, "안녕하세요"))) == "ko"
    assert language_of(reply_text(assistant.say(sender, "hello"))) == "en"
    assert language_of(reply_text(assistant.say(sender, "你好"))) == "zh"
    assert language_of(reply_text(assistant.say(sender, "ok"))) == "zh"


def test_change_language_switches_explicitly(assistant):
    sender = new_sender()
    assistant.say(sender, "hello")
    reply = reply_text(assistant.say(sender, "can you answer in Thai please?"))
    assert language_of(reply) == "th"
    assert language_of(reply_text(assistant.say(sender, "👍"))) == "th"


def test_red_flag_is_escalated_in_the_patients_language(assistant):
    sender = new_sender()
    reply = assistant.say(sender, "手术后发高烧怎么办")
    assert "1669" in reply[0]["text"] and language_of(reply[0]["text"]) == "zh"
    tracker = assistant.api("GET", f"/conversations/{conversation_id('rest', sender)}/tracker")[1]
    assert tracker["slots"]["red_flag_raised"] is True


def test_request_human_hands_off_and_is_marked_for_staff(assistant):
    sender = new_sender()
    reply = reply_text(assistant.say(sender, "ขอคุยกับเจ้าหน้าที่หน่อยค่ะ"))
    assert language_of(reply) == "th"
    tracker = assistant.api("GET", f"/conversations/{conversation_id('rest', sender)}/tracker")[1]
    assert tracker["slots"]["handoff_requested"] is True


def test_personal_medical_advice_is_declined(assistant):
    reply = reply_text(assistant.say(new_sender(), "how many ibuprofen can I take after my surgery?"))
    assert "can't give personal medical advice" in reply


def test_out_of_scope_lists_what_the_assistant_can_do(assistant):
    reply = reply_text(assistant.say(new_sender(), "what's the weather like in Bangkok tomorrow?"))
    assert "microdiscectomy" in reply


BAD_BODIES = [
    b"", b"{", b"null", b"[]", b'"text"', json.dumps({"message": "hi"}).encode(),
    json.dumps({"sender": "x", "message": ""}).encode(),
    json.dumps({"sender": "x", "message": None}).encode(),
    json.dumps({"sender": "x", "message": 12345}).encode(),
    json.dumps({"sender": "x", "message": "\u0000\u0001\u200b\ufeff"}).encode(),
    json.dumps({"sender": "y" * 5000, "message": "hello"}).encode(),
]
ODD_BUT_VALID = [
    "a" * 20000, "ก" * 20000, "<script>alert(1)</script>", "'; DROP TABLE events; --", "😀" * 500,
    "สวัสดี 你好 안녕 hello", "<b>bold</b> &amp; {\"json\": true}",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: repr(b[:30]))
def test_malformed_requests_get_a_clear_400(assistant, body):
    status, answer = assistant.api("POST", "/webhooks/rest/webhook", body)
    assert status == 400
    assert answer["error"]


@pytest.mark.parametrize("text", ODD_BUT_VALID, ids=lambda t: repr(t[:20]))
def test_odd_messages_get_a_polite_reply(assistant, text):
    status, answer = assistant.api("POST", "/webhooks/rest/webhook", {"sender": new_sender(), "message": text})
    assert status == 200
    assert answer and all(m.get("text") or m.get("buttons") for m in answer)


def test_long_messages_are_cut_before_nlu_and_the_sender_id_is_kept_as_data(assistant):
    sender = "../../etc/passwd"
    assistant.say(sender, "x" * 20000)
    assert len(stored_user_texts(assistant.tracker_db, conversation_id("rest", sender))[-1]) == MAX_MESSAGE_CHARS


def test_the_assistant_keeps_answering_after_bad_input_and_stores_conversations(assistant):
    for body in BAD_BODIES:
        assistant.api("POST", "/webhooks/rest/webhook", body)
    sender = new_sender()
    reply = reply_text(assistant.say(sender, "What are the risks of a microdiscectomy?"))
    assert "nerve" in reply.lower()
    assert stored_user_texts(assistant.tracker_db, conversation_id("rest", sender)) == ["What are the risks of a microdiscectomy?"]


def test_an_unclear_message_gets_a_clarification_then_a_request_to_rephrase(assistant):
    sender = new_sender()
    assistant.say(sender, "hello")
    unsure = assistant.say(sender, "xqzj vbnm")
    assert "Did you mean" in reply_text(unsure)
    buttons = [b for m in unsure for b in m.get("buttons") or []]
    assert buttons[-1] == {"title": "Something else", "payload": "/out_of_scope"}
    assert "rephrase" in reply_text(assistant.say(sender, buttons[-1]["payload"]))


def test_the_clarification_is_in_the_patients_language(assistant):
    sender = new_sender()
    assistant.say(sender, "สวัสดีค่ะ")
    assert language_of(reply_text(assistant.say(sender, "กขคงจ"))) == "th"
