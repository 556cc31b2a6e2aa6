"""The WeChat channel: signed XML messages to the running assistant over real HTTP, as WeChat sends them."""
import asyncio
from concurrent.futures import ThreadPoolExecutor
import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import aiohttp
import pytest

from bot.conversation_ids import conversation_id
from bot.channels.common import MAX_BODY_BYTES, MEDIA_MESSAGE
from bot.channels.wechat import GREETING_MESSAGE, MAX_REPLY_BYTES, MORE_HINT, WeChatInput, WeChatMessage, text_reply
from bot.content import default_content
from tests.channel_env import WECHAT_TOKEN
from tests.helpers import QUESTION_PER_LANGUAGE, language_of, media_answer, serve_channel, stored_rows, user_events

ACCOUNT = "gh_0123456789ab"


def new_user():
    return "o" + uuid.uuid4().hex[:27]


def new_msg_id():
    return str(uuid.uuid4().int % 10**19)


def signed_query(timestamp=None, nonce=None, token=WECHAT_TOKEN, **extra):
    """The query string WeChat adds to each call: sha1 of the sorted token, timestamp and nonce."""
    timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
    nonce = nonce or str(uuid.uuid4().int % 10**10)
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}


def message_xml(sender, msg_type="text", content=None, msg_id=None, event=None, create_time=None, extra=""):
    """A message body as WeChat posts it (plaintext mode)."""
    fields = [f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>", f"<FromUserName><![CDATA[{sender}]]></FromUserName>",
              f"<CreateTime>{create_time or int(time.time())}</CreateTime>", f"<MsgType><![CDATA[{msg_type}]]></MsgType>"]
    if content is not None:
        fields.append(f"<Content><![CDATA[{content}]]></Content>")
    if event is not None:
        fields.append(f"<Event><![CDATA[{event}]]></Event>")
    if msg_type != "event":
        fields.append(f"<MsgId>{msg_id or new_msg_id()}</MsgId>")
    return ("<xml>" + "".join(fields) + extra + "</xml>").encode()


def call(assistant, method, query, body=None):
    """(status, body text) of a call to the webhook."""
    url = f"{assistant.url}/webhooks/wechat/webhook?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def post(assistant, body, query=None):
    return call(assistant, "POST", signed_query() if query is None else query, body)


def passive_reply(raw):
    """The fields of a passive text reply, checked to be one."""
    reply = {child.tag: child.text for child in ET.fromstring(raw)}
    assert reply["MsgType"] == "text" and reply["FromUserName"] == ACCOUNT and int(reply["CreateTime"]) > 0
    assert len(reply["Content"].encode()) <= MAX_REPLY_BYTES
    return reply


def say(assistant, sender, content, msg_id=None):
    """The Content of the reply to a text message."""
    status, raw = post(assistant, message_xml(sender, content=content, msg_id=msg_id))
    assert status == 200, (status, raw)
    reply = passive_reply(raw)
    assert reply["ToUserName"] == sender
    return reply["Content"]


def says_more_follows(content):
    return any(content.endswith(hint) for hint in MORE_HINT.values())


def whole_reply(assistant, sender, content):
    """The reply to a message with every page of it, asking for the next with "+"."""
    pages = [say(assistant, sender, content)]
    while says_more_follows(pages[-1]):
        pages.append(say(assistant, sender, "+"))
    return pages


def words(text):
    return " ".join(text.split())


def test_the_server_url_handshake_echoes_echostr(assistant):
    assert call(assistant, "GET", signed_query(echostr="5837397520138591")) == (200, "5837397520138591")
    assert call(assistant, "GET", signed_query(token="another-token", echostr="1"))[0] == 403
    assert call(assistant, "GET", {"echostr": "1"})[0] == 401
    assert call(assistant, "GET", signed_query())[0] == 400


@pytest.mark.parametrize("language,question,procedure,topic", QUESTION_PER_LANGUAGE)
def test_a_question_is_answered_in_its_language(assistant, language, question, procedure, topic):
    reply = "\n".join(whole_reply(assistant, new_user(), question))
    assert words(default_content().answer(procedure, topic, language).text) in words(reply)
    assert language_of(reply) == language


def test_a_reply_longer_than_wechat_allows_comes_in_pages(assistant):
    sender = new_user()
    say(assistant, sender, "สวัสดีค่ะ")
    # The Thai recovery answer for microdiscectomy is longer than 2,048 bytes. Asked with the
    # payload of its button, so the test does not depend on how NLU reads a question.
    question = '/ask_recovery{"procedure": "microdiscectomy"}'
    pages = whole_reply(assistant, sender, question)
    assert len(pages) > 1
    assert all(page.endswith(MORE_HINT["th"]) for page in pages[:-1]) and not says_more_follows(pages[-1])
    text = "\n".join(page.replace(MORE_HINT["th"], "") for page in pages)
    assert words(default_content().answer("microdiscectomy", "recovery", "th").text) in words(text)
    # With no pages left, "+" is an ordinary message for the bot.
    assert say(assistant, sender, "+")
    assert [event["text"] for event in user_events(assistant.tracker_db, conversation_id("wechat", sender))] == ["สวัสดีค่ะ", question, "+"]


def test_buttons_become_a_numbered_list_and_a_number_sends_the_payload(assistant):
    sender = new_user()
    content = say(assistant, sender, "수술 후 회복 기간은 얼마나 되나요?")
    assert content.endswith("1. 미세현미경 디스크 제거술\n2. 내시경 추간판 제거술\n3. 미세 후궁절제술\n4. 최소침습 척추 수술")
    answer = say(assistant, sender, "3")
    assert default_content().answer("microlaminectomy", "recovery", "ko").text in answer
    picked = user_events(assistant.tracker_db, conversation_id("wechat", sender))[-1]["text"]
    assert picked.startswith("/ask_recovery") and "microlaminectomy" in picked


def test_typing_an_offered_title_sends_its_payload(assistant):
    sender = new_user()
    assert "2. Endoscopic discectomy" in say(assistant, sender, "How long is the recovery after surgery?")
    answer = say(assistant, sender, "Endoscopic discectomy")
    assert default_content().answer("endoscopic_discectomy", "recovery", "en").text in answer
    assert user_events(assistant.tracker_db, conversation_id("wechat", sender))[-1]["text"].startswith("/ask_recovery")


def test_a_new_follower_is_greeted_in_chinese(assistant):
    sender = new_user()
    status, raw = post(assistant, message_xml(sender, msg_type="event", event="subscribe"))
    assert status == 200
    greeting = passive_reply(raw)["Content"]
    assert language_of(greeting) == "zh"
    assert [event["text"] for event in user_events(assistant.tracker_db, conversation_id("wechat", sender))] == [GREETING_MESSAGE]


@pytest.mark.parametrize("event", ["unsubscribe", "CLICK", "VIEW", "TEMPLATESENDJOBFINISH"])
def test_other_events_are_acknowledged_without_a_turn(assistant, event):
    sender = new_user()
    assert post(assistant, message_xml(sender, msg_type="event", event=event)) == (200, "success")
    assert stored_rows(assistant.tracker_db, conversation_id("wechat", sender)) == 0


@pytest.mark.parametrize("msg_type,extra", [
    ("image", "<PicUrl><![CDATA[http://mmbiz.qpic.cn/abc]]></PicUrl><MediaId><![CDATA[media1]]></MediaId>"),
    ("voice", "<MediaId><![CDATA[media2]]></MediaId><Format><![CDATA[amr]]></Format>"),
    ("location", "<Location_X>23.13</Location_X><Location_Y>113.26</Location_Y><Scale>20</Scale>"
                 "<Label><![CDATA[广州市]]></Label>"),
])
def test_media_gets_the_polite_text_only_answer_in_the_patients_language(assistant, msg_type, extra):
    sender = new_user()
    say(assistant, sender, "你好")
    status, raw = post(assistant, message_xml(sender, msg_type=msg_type, extra=extra))
    assert status == 200
    assert media_answer("zh") in passive_reply(raw)["Content"]
    media = user_events(assistant.tracker_db, conversation_id("wechat", sender))[-1]
    assert media["text"] == MEDIA_MESSAGE and media["parse_data"]["intent"]["name"] == "share_media"


def test_unsigned_forged_and_stale_requests_are_refused_and_leave_no_trace(assistant):
    sender = new_user()
    body = message_xml(sender, content="显微椎间盘切除术有什么风险")
    now = int(time.time())
    assert post(assistant, body, {"timestamp": str(now), "nonce": "1"})[0] == 401
    assert post(assistant, body, {})[0] == 401
    assert post(assistant, body, signed_query(token="not-our-token"))[0] == 403
    forged = dict(signed_query(timestamp=now), timestamp=str(now + 1))  # a signature for another timestamp
    assert post(assistant, body, forged)[0] == 403
    assert post(assistant, body, signed_query(timestamp=now - 600))[0] == 403
    assert post(assistant, body, signed_query(timestamp=now + 600))[0] == 403
    assert post(assistant, body, signed_query(timestamp="yesterday"))[0] == 400
    assert stored_rows(assistant.tracker_db, conversation_id("wechat", sender)) == 0


def test_a_signature_replayed_with_another_message_is_refused(assistant):
    first, second = new_user(), new_user()
    query = signed_query()
    assert post(assistant, message_xml(first, content="你好"), query)[0] == 200
    assert post(assistant, message_xml(second, content="显微椎间盘切除术有什么风险"), query)[0] == 403
    assert stored_rows(assistant.tracker_db, conversation_id("wechat", second)) == 0


def test_a_retried_message_is_answered_once(assistant):
    sender, msg_id = new_user(), new_msg_id()
    body = message_xml(sender, content="显微椎间盘切除术有什么风险", msg_id=msg_id)
    query = signed_query()
    first = post(assistant, body, query)
    assert first[0] == 200 and "风险" in passive_reply(first[1])["Content"]
    # WeChat's retries: the same request again, and the same message under a new signature.
    for retry in (post(assistant, body, query), post(assistant, body)):
        assert retry[0] == 200 and passive_reply(retry[1])["Content"] == passive_reply(first[1])["Content"]
    assert len(user_events(assistant.tracker_db, conversation_id("wechat", sender))) == 1


def test_retries_that_arrive_while_the_bot_is_still_answering_share_its_reply(assistant):
    sender = new_user()
    body = message_xml(sender, content="内镜椎间盘切除术后多久能恢复", msg_id=new_msg_id())
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: post(assistant, body), range(3)))
    contents = {passive_reply(raw)["Content"] for status, raw in replies if status == 200}
    assert len(contents) == 1 and [status for status, _ in replies] == [200, 200, 200]
    assert len(user_events(assistant.tracker_db, conversation_id("wechat", sender))) == 1


def malformed_bodies(sender):
    return [
        b"", b"not xml at all", b"<xml><ToUserName>", json.dumps({"FromUserName": sender}).encode(),
        b"<message>" + message_xml(sender, content="hi") + b"</message>",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        + message_xml(sender, content="&lol2;"),
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + message_xml(sender, content="&xxe;"),
        message_xml(sender, content="hi").replace(f"<FromUserName><![CDATA[{sender}]]></FromUserName>".encode(), b""),
        message_xml(sender, content="hi").replace(b"<MsgType><![CDATA[text]]></MsgType>", b""),
        message_xml(sender),  # a text message without Content
        message_xml(sender, content="   \u200b "),
        message_xml(sender, msg_type="event"),  # an event without Event
        message_xml(sender, msg_type="hologram"),
        # Safe mode: only the encrypted message, which this channel does not decrypt.
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[c2VjcmV0]]></Encrypt></xml>".encode(),
    ]


def test_malformed_bodies_get_a_clear_400_and_leave_no_trace(assistant):
    sender = new_user()
    for body in malformed_bodies(sender):
        status, reason = post(assistant, body)
        assert status == 400, body
        assert reason
    assert stored_rows(assistant.tracker_db, conversation_id("wechat", sender)) == 0


def test_an_oversized_body_gets_413_and_leaves_no_trace(assistant):
    sender = new_user()
    body = message_xml(sender, content="x" * (MAX_BODY_BYTES + 1))
    assert post(assistant, body)[0] == 413
    assert stored_rows(assistant.tracker_db, conversation_id("wechat", sender)) == 0


def test_the_channel_keeps_answering_after_bad_requests(assistant):
    for body in malformed_bodies(new_user()):
        post(assistant, body)
    post(assistant, message_xml(new_user(), content="hi"), signed_query(token="wrong"))
    sender = new_user()
    answer = say(assistant, sender, "显微椎间盘切除术有什么风险")
    assert default_content().answer("microdiscectomy", "risks", "zh").text in answer
    assert [event["text"] for event in user_events(assistant.tracker_db, conversation_id("wechat", sender))] == ["显微椎间盘切除术有什么风险"]


def test_a_reply_with_cdata_end_markers_stays_well_formed():
    message = WeChatMessage(sender="o1", account=ACCOUNT, kind="text", text="hi", key="1")
    content = "a ]]> b <c> & ]]]]> d"
    assert ET.fromstring(text_reply(message, content)).find("Content").text == content


# When the bot is slower than WeChat waits: the channel on a real Sanic server, with a stand-in for
# the bot that answers late (the running assistant cannot be made slow on purpose).

async def test_a_slow_answer_is_acknowledged_and_a_later_retry_gets_it():
    turns = []

    async def slow_bot(message):
        turns.append(message.text)
        await asyncio.sleep(0.5)
        await message.output_channel.send_text_message(message.sender_id, "迟到的回答")

    server, url = await serve_channel(WeChatInput(WECHAT_TOKEN, answer_timeout=0.1), slow_bot)
    body = message_xml(new_user(), content="恢复要多久", msg_id=new_msg_id())
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, params=signed_query(), data=body) as first:
                assert (first.status, await first.text()) == (200, "success")
            await asyncio.sleep(1)
            # WeChat retries only when it got no reply; the retry is answered from the finished turn.
            async with session.post(url, params=signed_query(), data=body) as retry:
                assert retry.status == 200 and passive_reply(await retry.text())["Content"] == "迟到的回答"
        assert turns == ["恢复要多久"]
    finally:
        server.close()
        await server.wait_closed()
