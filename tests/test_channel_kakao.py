"""The KakaoTalk channel: Kakao i Open Builder skill requests to the running assistant over real HTTP."""
import asyncio
import json
import uuid

import aiohttp
import pytest

from bot.conversation_ids import conversation_id
from bot.channels.common import MAX_BODY_BYTES, MEDIA_MESSAGE
from bot.channels.kakao import (
    MAX_LABEL_CHARS, MAX_OUTPUTS, MAX_TEXT_CHARS, NOT_ANSWERED, SECRET_HEADER, STILL_THINKING, KakaoInput,
    bubble_texts, skill_response,
)
from bot.content import default_content
from tests.channel_env import KAKAO_SKILL_SECRET
from bot.running_assistant import http
from tests.helpers import QUESTION_PER_LANGUAGE, language_of, media_answer, serve_channel, stored_rows, user_events


def new_user():
    return "kakao-" + uuid.uuid4().hex[:12]


def skill_request(user_id, utterance):
    """A skill request as Open Builder sends it from a block whose action is our skill."""
    return {
        "intent": {"id": "fallback-block", "name": "폴백 블록"},
        "userRequest": {
            "timezone": "Asia/Seoul",
            "params": {"ignoreMe": "true"},
            "block": {"id": "fallback-block", "name": "폴백 블록"},
            "utterance": utterance,
            "lang": "ko",
            "user": {"id": user_id, "type": "botUserKey", "properties": {"botUserKey": user_id}},
        },
        "bot": {"id": "spine-bot", "name": "척추 수술 안내"},
        "action": {"name": "rasa", "clientExtra": None, "params": {}, "id": "skill", "detailParams": {}},
    }


def post(url, body, secret=KAKAO_SKILL_SECRET):
    """(status, parsed JSON body) of a POST to the skill; `body` is bytes or a JSON-able value."""
    return http("POST", url, body, headers={} if secret is None else {SECRET_HEADER: secret})


def webhook(assistant):
    return f"{assistant.url}/webhooks/kakao/webhook"


def ask(assistant, user_id, utterance):
    """The skill response's template for one utterance; checks it is a valid Kakao response."""
    status, answer = post(webhook(assistant), skill_request(user_id, utterance))
    assert status == 200, (status, answer)
    assert answer["version"] == "2.0"
    outputs = answer["template"]["outputs"]
    assert 1 <= len(outputs) <= MAX_OUTPUTS
    assert all(0 < len(output["simpleText"]["text"]) <= MAX_TEXT_CHARS for output in outputs)
    for reply in answer["template"].get("quickReplies", []):
        assert len(reply["label"]) <= MAX_LABEL_CHARS and reply["action"] == "message"
    return answer["template"]


def text_of(template):
    return "\n\n".join(output["simpleText"]["text"] for output in template["outputs"])


@pytest.mark.parametrize("language,question,procedure,topic", QUESTION_PER_LANGUAGE)
def test_a_question_is_answered_in_its_language(assistant, language, question, procedure, topic):
    text = text_of(ask(assistant, new_user(), question))
    assert default_content().answer(procedure, topic, language).text in text
    assert language_of(text) == language


def test_buttons_become_quick_replies_and_a_tap_sends_the_payload(assistant):
    user_id = new_user()
    template = ask(assistant, user_id, "수술 후 회복 기간은 얼마나 되나요?")
    replies = template["quickReplies"]
    assert [r["label"] for r in replies] == ["미세현미경 디스크 제거술", "내시경 추간판 제거술", "미세 후궁절제술", "최소침습 척추 수술"]
    # A tapped quick reply comes back as its messageText, an ordinary utterance.
    answer = text_of(ask(assistant, user_id, replies[2]["messageText"]))
    assert default_content().answer("microlaminectomy", "recovery", "ko").text in answer
    tapped = user_events(assistant.tracker_db, conversation_id("kakao", user_id))[-1]
    assert tapped["text"].startswith("/ask_recovery") and "microlaminectomy" in tapped["text"]


def test_long_titles_are_numbered_and_a_typed_number_sends_the_payload(assistant):
    user_id = new_user()
    template = ask(assistant, user_id, "How long is the recovery after surgery?")
    replies = template["quickReplies"]
    titles = [r["messageText"] for r in replies]
    assert "Minimally invasive spine surgery (MISS)" in titles
    assert [r["label"][:3] for r in replies] == ["1. ", "2. ", "3. ", "4. "]
    assert "3. Microlaminectomy" in text_of(template)
    answer = text_of(ask(assistant, user_id, "3"))
    assert default_content().answer("microlaminectomy", "recovery", "en").text in answer


@pytest.mark.parametrize("utterance", ["", "https://talk.kakaocdn.net/dna/bS3xZk/btsA1b2C3d4/photo.jpg"])
def test_a_photo_gets_the_polite_text_only_answer_in_the_patients_language(assistant, utterance):
    user_id = new_user()
    ask(assistant, user_id, "안녕하세요")
    text = text_of(ask(assistant, user_id, utterance))
    assert media_answer("ko") in text
    media = user_events(assistant.tracker_db, conversation_id("kakao", user_id))[-1]
    assert media["text"] == MEDIA_MESSAGE and media["parse_data"]["intent"]["name"] == "share_media"


def test_requests_without_the_right_secret_are_refused_and_leave_no_trace(assistant):
    user_id = new_user()
    body = skill_request(user_id, "미세현미경 디스크 제거술이 뭐예요?")
    assert post(webhook(assistant), body, secret=None)[0] == 401
    assert post(webhook(assistant), body, secret="not-the-secret")[0] == 403
    assert post(webhook(assistant), body, secret=KAKAO_SKILL_SECRET + "x")[0] == 403
    assert post(webhook(assistant), body, secret="")[0] == 401
    assert stored_rows(assistant.tracker_db, conversation_id("kakao", user_id)) == 0


def malformed_bodies(user_id):
    good = skill_request(user_id, "hello")
    no_user = json.loads(json.dumps(good))
    del no_user["userRequest"]["user"]
    no_utterance = json.loads(json.dumps(good))
    del no_utterance["userRequest"]["utterance"]
    number_utterance = json.loads(json.dumps(good))
    number_utterance["userRequest"]["utterance"] = 42
    return [
        b"", b"{", b"null", b"[]", b'"hello"', b"\xff\xfe\x00",
        json.dumps({"userRequest": "hello"}).encode(),
        json.dumps(no_user).encode(), json.dumps(no_utterance).encode(), json.dumps(number_utterance).encode(),
    ]


def test_malformed_requests_get_a_clear_400_and_leave_no_trace(assistant):
    user_id = new_user()
    for body in malformed_bodies(user_id):
        status, answer = post(webhook(assistant), body)
        assert status == 400, body
        assert answer["error"]
    assert stored_rows(assistant.tracker_db, conversation_id("kakao", user_id)) == 0


def test_an_oversized_request_gets_413_and_leaves_no_trace(assistant):
    user_id = new_user()
    body = skill_request(user_id, "hello")
    body["action"]["params"]["padding"] = "x" * (MAX_BODY_BYTES + 1)
    assert post(webhook(assistant), body)[0] == 413
    assert stored_rows(assistant.tracker_db, conversation_id("kakao", user_id)) == 0


def test_the_skill_keeps_answering_after_bad_requests(assistant):
    for body in malformed_bodies(new_user()):
        post(webhook(assistant), body)
    post(webhook(assistant), skill_request(new_user(), "hello"), secret="wrong")
    user_id = new_user()
    text = text_of(ask(assistant, user_id, "미세현미경 디스크 제거술의 위험은 무엇인가요?"))
    assert default_content().answer("microdiscectomy", "risks", "ko").text in text
    assert [event["text"] for event in user_events(assistant.tracker_db, conversation_id("kakao", user_id))] == ["미세현미경 디스크 제거술의 위험은 무엇인가요?"]


# The response format itself, without a bot.

def test_more_than_three_texts_are_joined_into_three_bubbles():
    bubbles = bubble_texts(["notice", "a" * 600, "b" * 600, "question?"])
    assert len(bubbles) == MAX_OUTPUTS and all(len(b) <= MAX_TEXT_CHARS for b in bubbles)
    assert "\n\n".join(bubbles).replace("\n\n", "") == "notice" + "a" * 600 + "b" * 600 + "question?"


def test_a_text_longer_than_a_bubble_is_split_at_a_line_break():
    text = "first paragraph " * 40 + "\n" + "second paragraph " * 40
    bubbles = bubble_texts([text])
    assert bubbles == [("first paragraph " * 40).strip(), ("second paragraph " * 40).strip()]


def test_at_most_ten_quick_replies():
    buttons = [{"title": f"option {n}", "payload": f"/choice{n}"} for n in range(15)]
    assert len(skill_response(["pick one"], buttons)["template"]["quickReplies"]) == 10


# When the bot is slower than Kakao waits: the channel on a real Sanic server, with a stand-in
# for the bot that answers late (the running assistant cannot be made slow on purpose).

async def serve_kakao(on_new_message, answer_timeout):
    return await serve_channel(KakaoInput(KAKAO_SKILL_SECRET, answer_timeout), on_new_message)


async def post_async(url, body):
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body, headers={SECRET_HEADER: KAKAO_SKILL_SECRET}) as answer:
            return answer.status, await answer.json()


@pytest.mark.parametrize("utterance,language", [("회복 기간이 궁금해요", "ko"), ("พักฟื้นกี่วันคะ", "th"), ("ok", "ko")])
async def test_a_slow_answer_gets_a_polite_please_resend_and_the_turn_completes(utterance, language):
    finished = asyncio.Event()

    async def slow_bot(message):
        await asyncio.sleep(0.5)
        await message.output_channel.send_text_message(message.sender_id, "the late answer")
        finished.set()

    server, url = await serve_kakao(slow_bot, answer_timeout=0.1)
    try:
        status, answer = await post_async(url, skill_request(new_user(), utterance))
        assert status == 200
        assert answer["template"]["outputs"] == [{"simpleText": {"text": STILL_THINKING[language]}}]
        await asyncio.wait_for(finished.wait(), 5)
    finally:
        server.close()
        await server.wait_closed()


async def test_a_failing_bot_gets_a_polite_apology_not_a_500():
    async def failing_bot(message):
        raise RuntimeError("the tracker store is down")

    server, url = await serve_kakao(failing_bot, answer_timeout=2)
    try:
        status, answer = await post_async(url, skill_request(new_user(), "What is MISS?"))
        assert status == 200
        assert answer["template"]["outputs"] == [{"simpleText": {"text": NOT_ANSWERED["en"]}}]
    finally:
        server.close()
        await server.wait_closed()
