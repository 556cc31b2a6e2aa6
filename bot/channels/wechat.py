"""WeChat Official Account: signed XML messages in, a passive XML reply in the same HTTP response.

WeChat signs every call with sha1 over the account's token, a timestamp and a nonce (in the query
string, not over the body), first in a GET handshake that must echo `echostr`, then on every
POST of a patient's message. Plaintext and compatible message modes only: the encrypted "safe
mode" is refused with a clear 400. Set-up: docs/channels/wechat.md.

WeChat waits 5 seconds for the reply and retries the same message (same MsgId) up to three
times when it gets none; a retry is answered from the first delivery's turn, never run twice.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
import hashlib
import hmac
import logging
import time
from typing import Any, Callable, Dict, Generic, List, Mapping, Optional, Text, Tuple, TypeVar
from xml.parsers import expat

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.common import (
    MAX_QUICK_REPLIES, MEDIA_MESSAGE, OfferedButtons, OnNewMessage, Refused, check_body_size, collect_answers,
    numbered_options, patient_text, split_long_text, valid_sender,
)
from bot.language import detect_language

logger = logging.getLogger(__name__)

# WeChat waits 5 s for the reply; half a second is left for the network.
ANSWER_TIMEOUT_SECONDS = 4.5
# A signed request whose timestamp is further than this from our clock is refused as stale.
MAX_CLOCK_SKEW_SECONDS = 300
# WeChat's limit for the Content of a passive text reply.
MAX_REPLY_BYTES = 2048
# The reply that tells WeChat "received, nothing to show" (it then does not retry).
ACKNOWLEDGED = "success"

# A new follower is greeted; WeChat's patients read Chinese first, until they write otherwise.
GREETING_MESSAGE = '/greet{"language": "zh"}'
MEDIA_TYPES = {"image", "voice", "video", "shortvideo", "location", "link", "file"}

# A reply longer than WeChat allows is sent a page at a time; the patient sends "+" for the next.
MORE_KEYWORDS = {"+", "＋"}
MORE_HINT = {
    "zh": "（回复 + 查看后续内容）",
    "ko": "(이어서 보시려면 + 를 보내 주세요.)",
    "th": "(พิมพ์ + เพื่ออ่านต่อค่ะ)",
    "en": "(Reply + to read on.)",
}
DEFAULT_LANGUAGE = "zh"


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's signature: sha1 of the token, timestamp and nonce, sorted and concatenated."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()


def check_signature(token: str, query: Mapping[str, Any]) -> Tuple[str, str, str]:
    """(signature, timestamp, nonce) of a request signed with `token`; else Refused 401/403."""
    signature, timestamp, nonce = (query.get(name) for name in ("signature", "timestamp", "nonce"))
    if not signature or not timestamp or not nonce:
        raise Refused("The request is not signed: signature, timestamp and nonce are required.", status=401)
    expected = wechat_signature(token, timestamp, nonce)
    if not hmac.compare_digest(expected.encode("utf-8"), signature.lower().encode("utf-8")):
        raise Refused("The signature does not match this account's token.", status=403)
    return signature, timestamp, nonce


def check_fresh(timestamp: str, now: float) -> None:
    """Refuses a timestamp that is not Unix seconds (400) or is more than 5 minutes off (403)."""
    if not timestamp.isascii() or not timestamp.isdigit():
        raise Refused("timestamp must be Unix seconds.")
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        raise Refused("The request is stale: its timestamp is more than 5 minutes off.", status=403)


def _refuse_declarations(*_: Any) -> None:
    # Entities are how XML bombs and external-entity reads work; WeChat never sends a DTD.
    raise Refused("XML with a DOCTYPE or entity declarations is refused.")


def parse_message_xml(raw: bytes) -> Dict[str, str]:
    """The fields of WeChat's flat <xml> message (element name -> text); else Refused 400."""
    fields: Dict[str, str] = {}
    open_elements: List[str] = []
    field_text: List[str] = []
    roots: List[str] = []

    def start(name: str, _attributes: Any) -> None:
        open_elements.append(name)
        if len(open_elements) == 1:
            roots.append(name)
        elif len(open_elements) == 2:
            field_text.clear()

    def end(name: str) -> None:
        if len(open_elements) == 2:
            fields.setdefault(name, "".join(field_text))
        open_elements.pop()

    def characters(data: str) -> None:
        if len(open_elements) == 2:
            field_text.append(data)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as error:
        raise Refused(f"The body is not well-formed XML ({expat.ErrorString(error.code)}).")
    if roots != ["xml"]:
        raise Refused("The body must be WeChat's <xml> message.")
    return fields


@dataclass
class WeChatMessage:
    sender: str  # the patient's OpenID (FromUserName)
    account: str  # the Official Account (ToUserName)
    kind: str  # "text", "media", "subscribe" or "event" (acknowledged, not answered)
    text: Optional[str]  # the cleaned Content of a text message
    key: str  # the same for WeChat's retries of one message: MsgId, else sender + CreateTime


def read_message(fields: Mapping[str, str]) -> WeChatMessage:
    """The message in a parsed body; Refused 400 when a field WeChat always sends is missing."""
    if "Encrypt" in fields and "MsgType" not in fields:
        raise Refused("Encrypted (safe mode) messages are not supported: set the account's message "
                      "encryption mode to plaintext or compatible.")
    for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not fields.get(name, "").strip():
            raise Refused(f"<{name}> is missing.")
    sender = valid_sender(fields["FromUserName"].strip())
    if sender is None:
        raise Refused("<FromUserName> is not a usable user id.")
    account = fields["ToUserName"].strip()
    msg_type = fields["MsgType"].strip().lower()
    key = fields.get("MsgId", "").strip() or f"{sender}:{fields['CreateTime'].strip()}"
    text = None
    if msg_type == "text":
        text = patient_text(fields.get("Content"))
        if text is None:
            raise Refused("A text message needs a non-empty <Content>.")
        kind = "text"
    elif msg_type == "event":
        event = fields.get("Event", "").strip().lower()
        if not event:
            raise Refused("An event needs an <Event>.")
        kind = "subscribe" if event == "subscribe" else "event"
        key = f"{key}:{event}"
    elif msg_type in MEDIA_TYPES:
        kind = "media"
    else:
        raise Refused(f"Unknown MsgType {msg_type[:40]!r}.")
    return WeChatMessage(sender, account, kind, text, key)


def cdata(text: str) -> str:
    """`text` as a CDATA section; a "]]>" inside is split across two sections."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(message: WeChatMessage, content: str) -> str:
    """WeChat's passive text reply to `message`."""
    return (f"<xml><ToUserName>{cdata(message.sender)}</ToUserName>"
            f"<FromUserName>{cdata(message.account)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(content)}</Content></xml>")


def reply_content(texts: List[str], buttons: List[Dict[str, Any]]) -> str:
    """The bot's texts, a blank line apart, then its buttons as a numbered list to answer by number."""
    return numbered_options("\n\n".join(texts), buttons)


def _fits_in_bytes(budget: int) -> Callable[[str], bool]:
    return lambda text: len(text.encode("utf-8")) <= budget


def paginate(content: str) -> List[str]:
    """`content` in pages WeChat accepts; every page but the last says how to get the next."""
    if len(content.encode("utf-8")) <= MAX_REPLY_BYTES:
        return [content]
    hint = "\n\n" + MORE_HINT[detect_language(content) or DEFAULT_LANGUAGE]
    pieces = split_long_text(content, _fits_in_bytes(MAX_REPLY_BYTES - len(hint.encode("utf-8"))))
    return [piece + hint for piece in pieces[:-1]] + pieces[-1:]


K = TypeVar("K")
V = TypeVar("V")


class RecentMemory(Generic[K, V]):
    """Values remembered for `lifetime` seconds (oldest forgotten first)."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._entries: "OrderedDict[K, Tuple[float, V]]" = OrderedDict()

    def get(self, key: K) -> Optional[V]:
        self._forget_old()
        entry = self._entries.get(key)
        return entry[1] if entry else None

    def put(self, key: K, value: V) -> None:
        self._forget_old()
        self._entries[key] = (time.monotonic(), value)

    def _forget_old(self) -> None:
        oldest_kept = time.monotonic() - self.lifetime
        while self._entries and next(iter(self._entries.values()))[0] < oldest_kept:
            self._entries.popitem(last=False)


class ReplyPages:
    """The pages of each patient's latest long reply that are still to be sent."""

    def __init__(self, max_senders: int = 10_000) -> None:
        self._unsent: "OrderedDict[str, List[str]]" = OrderedDict()
        self._max_senders = max_senders

    def first(self, sender: str, content: str) -> str:
        """The first page of a new reply; the rest wait for "+"."""
        pages = paginate(content)
        self.drop(sender)
        if len(pages) > 1:
            self._unsent[sender] = pages[1:]
            while len(self._unsent) > self._max_senders:
                self._unsent.popitem(last=False)
        return pages[0]

    def next(self, sender: str) -> Optional[str]:
        unsent = self._unsent.get(sender)
        if not unsent:
            return None
        page = unsent.pop(0)
        if not unsent:
            self.drop(sender)
        return page

    def drop(self, sender: str) -> None:
        self._unsent.pop(sender, None)


@dataclass
class Turn:
    """One patient message and its reply, shared by WeChat's retries of the message."""
    answering: Optional["asyncio.Future[Optional[List[Dict[str, Any]]]]"] = None
    content: Optional[str] = None  # the reply, once one request has rendered it


class WeChatInput(InputChannel):
    """WeChat Official Account messages; the webhook is /webhooks/wechat/webhook."""

    @classmethod
    def name(cls) -> Text:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials or not credentials.get("token"):
            cls.raise_missing_credentials_exception()
        return cls(str(credentials["token"]))

    def __init__(self, token: Text, answer_timeout: float = ANSWER_TIMEOUT_SECONDS) -> None:
        self.token = token
        self.answer_timeout = answer_timeout
        self.offered_buttons = OfferedButtons()
        self.reply_pages = ReplyPages()
        # (signature, timestamp, nonce) -> the message it was used for. A signature covers only the
        # query string, so the same one with another body is a forgery. Kept while the timestamp
        # could still pass as fresh.
        self.used_signatures: RecentMemory[Tuple[str, str, str], str] = RecentMemory(2 * MAX_CLOCK_SKEW_SECONDS)
        # message key -> its turn, so WeChat's retries of a message are answered, not run again.
        self.turns: RecentMemory[str, Turn] = RecentMemory(2 * MAX_CLOCK_SKEW_SECONDS)

    def signed_message(self, request: Request) -> WeChatMessage:
        """The message of a signed, fresh, not replayed POST; else Refused with the status to answer."""
        signed = check_signature(self.token, request.args)
        check_fresh(signed[1], time.time())
        check_body_size(request.body)
        message = read_message(parse_message_xml(request.body or b""))
        used_for = self.used_signatures.get(signed)
        if used_for is not None and used_for != message.key:
            raise Refused("This signature was already used for another message.", status=403)
        self.used_signatures.put(signed, message.key)
        return message

    def start_turn(self, on_new_message: OnNewMessage, message: WeChatMessage) -> Turn:
        """Runs the bot on a message seen for the first time (or serves the next page of a long reply)."""
        if message.kind == "text" and message.text in MORE_KEYWORDS:
            page = self.reply_pages.next(message.sender)
            if page is not None:
                return Turn(content=page)
        if message.kind == "subscribe":
            text = GREETING_MESSAGE
        elif message.kind == "media":
            text = MEDIA_MESSAGE
        else:
            text = self.offered_buttons.resolve(message.sender, message.text or "")
        return Turn(answering=asyncio.ensure_future(collect_answers(on_new_message, text, message.sender, self.name())))

    async def reply(self, turn: Turn, message: WeChatMessage) -> Optional[str]:
        """The reply content for a turn, or None when the bot is slower than WeChat waits."""
        if turn.content is None and turn.answering is not None:
            try:
                answers = await asyncio.wait_for(asyncio.shield(turn.answering), self.answer_timeout)
            except asyncio.TimeoutError:
                logger.warning("wechat: no reply to %s within %.1f s; acknowledged without one",
                               message.sender, self.answer_timeout)
                # The patient sees nothing of this turn, so its buttons and pages must not answer a "1" or "+".
                self.offered_buttons.remember(message.sender, [])
                self.reply_pages.drop(message.sender)
                return None
            except Exception:
                logger.exception("wechat: the bot failed on a message from %s", message.sender)
                return None
            if turn.content is None:  # a retry of the same message may have rendered it meanwhile
                texts = [answer["text"] for answer in answers or [] if answer.get("text")]
                buttons = [button for answer in answers or [] for button in answer.get("buttons") or []]
                buttons = buttons[:MAX_QUICK_REPLIES]
                self.offered_buttons.remember(message.sender, buttons)
                content = reply_content(texts, buttons)
                turn.content = self.reply_pages.first(message.sender, content) if content else ""
        return turn.content or None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        wechat_webhook = Blueprint("wechat_webhook", __name__)

        @wechat_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @wechat_webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            """WeChat's handshake when the server URL is saved: echo `echostr` if the signature is ours."""
            try:
                check_signature(self.token, request.args)
            except Refused as refused:
                return response.text(str(refused), status=refused.status)
            echostr = request.args.get("echostr")
            if not echostr:
                return response.text("echostr is missing.", status=400)
            return response.text(echostr)

        @wechat_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                message = self.signed_message(request)
            except Refused as refused:
                return response.text(str(refused), status=refused.status)
            if message.kind == "event":
                return response.text(ACKNOWLEDGED)
            turn = self.turns.get(message.key)
            if turn is None:
                turn = self.start_turn(on_new_message, message)
                self.turns.put(message.key, turn)
            content = await self.reply(turn, message)
            if content is None:
                return response.text(ACKNOWLEDGED)
            return response.text(text_reply(message, content), content_type="application/xml; charset=utf-8")

        return wechat_webhook
