"""The website's socket.io channel, over a real socket.io connection to the running assistant."""
import asyncio
import re

import pytest
import socketio

from tests.helpers import stored_user_texts, web_conversation

THAI, HANGUL, HAN = re.compile("[\u0E00-\u0E7F]"), re.compile("[\uAC00-\uD7A3]"), re.compile("[\u4E00-\u9FFF]")


class WidgetClient:
    """What the widget does: connect, ask for a session, send messages, collect the bot's events."""

    def __init__(self, url):
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)
        self.answers: asyncio.Queue = asyncio.Queue()
        self.refusals: asyncio.Queue = asyncio.Queue()
        self.session_id = None
        self.client.on("bot_uttered", self.answers.put_nowait)
        self.client.on("message_refused", self.refusals.put_nowait)

    async def start(self, session_id=None):
        confirmed = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
        # Long-polling: python-engineio's websocket client needs aiohttp >= 3.10, and Rasa 3.6 pins 3.9.
        # The browser widget uses websockets; the channel's events are the same on either transport.
        await self.client.connect(self.url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(confirmed, 30)
        return self

    async def say(self, text, **extra):
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id, **extra})

    async def next_answer(self, timeout=60):
        return await asyncio.wait_for(self.answers.get(), timeout)

    async def answers_until_quiet(self, quiet=1.5, first_timeout=60):
        """Every bot event of one turn: the first, then the rest until none comes for `quiet` s."""
        answers = [await self.next_answer(first_timeout)]
        while True:
            try:
                answers.append(await asyncio.wait_for(self.answers.get(), quiet))
            except asyncio.TimeoutError:
                return answers

    async def stop(self):
        # abort: don't wait for the open long-poll to time out (25 s) before closing.
        await self.client.eio.disconnect(abort=True)


@pytest.mark.parametrize("question, script", [
    ("การผ่าตัดส่องกล้องมีความเสี่ยงอะไรบ้าง", THAI),
    ("내시경 디스크 수술의 위험은 무엇인가요?", HANGUL),
    ("内镜椎间盘切除术有什么风险？", HAN),
])
async def test_a_question_is_answered_in_its_language(assistant, question, script):
    widget = await WidgetClient(assistant.url).start()
    try:
        await widget.say(question)
        answers = await widget.answers_until_quiet()
        assert any(script.search(a.get("text", "")) for a in answers), answers
    finally:
        await widget.stop()


async def test_english_question_offers_procedure_buttons_as_quick_replies(assistant):
    widget = await WidgetClient(assistant.url).start()
    try:
        await widget.say("What are the risks?")
        answers = await widget.answers_until_quiet()
        quick_replies = [q for a in answers for q in a.get("quick_replies") or []]
        assert quick_replies, answers
        assert all(q["payload"].startswith("/") and q["title"] for q in quick_replies)
        # The widget sends a tapped button's payload; the bot then answers the chosen procedure's risks.
        await widget.say(quick_replies[0]["payload"])
        follow_up = await widget.answers_until_quiet()
        assert any(len(a.get("text", "")) > 80 for a in follow_up), follow_up
    finally:
        await widget.stop()


async def test_a_reconnecting_page_continues_the_same_conversation(assistant):
    first = await WidgetClient(assistant.url).start()
    session_id = first.session_id  # issued by the server, kept in the widget's storage
    await first.say("hello")
    await first.answers_until_quiet()
    await first.stop()
    # A page reload: a new socket, the same session id from the widget's storage.
    second = await WidgetClient(assistant.url).start(session_id)
    try:
        assert second.session_id == session_id
        await second.say("what is microdiscectomy")
        assert await second.answers_until_quiet()
    finally:
        await second.stop()
    texts = stored_user_texts(assistant.tracker_db, web_conversation(session_id))
    assert len(texts) == 2 and "hello" in texts[0] and "microdiscectomy" in texts[1]


async def test_one_patients_messages_are_answered_in_order(assistant):
    widget = await WidgetClient(assistant.url).start()
    try:
        await widget.say("สวัสดีค่ะ")
        await widget.say("안녕하세요")
        await widget.say("你好")
        answers = []
        while len(answers) < 3:
            answers += [a for a in await widget.answers_until_quiet() if a.get("text")]
        scripts = [next(name for name, s in (("th", THAI), ("ko", HANGUL), ("zh", HAN)) if s.search(a["text"]))
                   for a in answers]
        # Each greeting may come with a notice first; the languages must follow the messages' order.
        assert [k for i, k in enumerate(scripts) if i == 0 or scripts[i - 1] != k] == ["th", "ko", "zh"], answers
    finally:
        await widget.stop()


@pytest.mark.parametrize("event, reason", [
    (None, "must be an object"),
    (["hello"], "must be an object"),
    ({"session_id": "s"}, "'message' must be a string"),
    ({"message": 42, "session_id": "s"}, "'message' must be a string"),
    ({"message": "   \u200b ", "session_id": "s"}, "'message' is empty"),
    ({"message": "hello"}, "'session_id' is missing"),
    ({"message": "hello", "session_id": ["x"]}, "'session_id' must be"),
    ({"message": "hello", "session_id": "s" * 300}, "'session_id' must be"),
    ({"message": "hello", "session_id": "s", "metadata": "{not json"}, "not valid JSON"),
    ({"message": "hello", "session_id": "s", "metadata": [1]}, "must be an object"),
])
async def test_malformed_events_are_refused_and_the_connection_keeps_serving(assistant, event, reason):
    widget = await WidgetClient(assistant.url).start()
    try:
        await widget.client.emit("user_uttered", event)
        refusal = await asyncio.wait_for(widget.refusals.get(), 30)
        assert reason in refusal["error"]
        assert widget.answers.empty()
        await widget.say("hello")
        assert await widget.answers_until_quiet()
    finally:
        await widget.stop()
    assert stored_user_texts(assistant.tracker_db, "s") == stored_user_texts(assistant.tracker_db, "web:s") == []
