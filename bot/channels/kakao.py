"""KakaoTalk, through a Kakao i Open Builder skill: the bot answers inside the skill's HTTP response.

Open Builder calls the skill (POST /webhooks/kakao/webhook) with JSON whose `userRequest` holds
the patient's `utterance` and `user.id`, and shows whatever `version: "2.0"` template comes back
within 5 seconds. Open Builder has no request signature; the bot owner adds a custom header to
the skill, and a request without our shared secret in `X-Skill-Secret` is refused before
anything is read. Set-up: docs/channels/kakao.md.
"""
from __future__ import annotations

from dataclasses import dataclass
import json
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.common import (
    MAX_QUICK_REPLIES, MEDIA_MESSAGE, OfferedButtons, OnNewMessage, Refused, check_body_size, check_shared_secret,
    collect_answers, labelled_options, patient_text, refusal_response, split_long_text, usable_buttons, valid_sender,
)
from bot.language import detect_language
from bot.text_input import MAX_SENDER_CHARS

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Skill-Secret"
# Kakao waits 5 s for the skill; half a second is left for the network.
ANSWER_TIMEOUT_SECONDS = 4.5
# Kakao's limits for a skill response.
MAX_OUTPUTS = 3
MAX_TEXT_CHARS = 1000
MAX_LABEL_CHARS = 14

# When the bot needs longer than Kakao waits. The turn still completes and is stored; the
# patient's next message is answered normally.
STILL_THINKING = {
    "ko": "답변을 준비하고 있어요. 잠시 후 메시지를 한 번 더 보내 주세요.",
    "th": "กำลังเตรียมคำตอบอยู่ค่ะ กรุณาส่งข้อความอีกครั้งในอีกสักครู่นะคะ",
    "en": "I'm still preparing your answer. Please send your message again in a moment.",
    "zh": "正在为您准备回答，请稍后再发送一次您的消息。",
}
# When the bot failed or had nothing to say: Kakao shows an error bubble for an empty answer.
NOT_ANSWERED = {
    "ko": "죄송합니다. 지금은 답변을 드리지 못했어요. 잠시 후 다시 시도해 주세요.",
    "th": "ขออภัยค่ะ ตอนนี้ยังตอบไม่ได้ กรุณาลองใหม่อีกครั้งในอีกสักครู่นะคะ",
    "en": "Sorry, I could not answer that just now. Please try again in a moment.",
    "zh": "抱歉，暂时无法回答，请稍后再试。",
}
# KakaoTalk is used in Korea: a message without a language signal ("ok", a payload) gets Korean.
DEFAULT_LANGUAGE = "ko"

# A photo, video or file a patient sends reaches the skill as its URL on Kakao's servers.
_KAKAO_MEDIA_URL = r"https?://(?:[\w-]+\.)*(?:kakaocdn\.net|kakao\.com|daumcdn\.net)(?:[/?#]\S*)?"
_ONLY_MEDIA_URLS = re.compile(rf"{_KAKAO_MEDIA_URL}(?:\s+{_KAKAO_MEDIA_URL})*", re.IGNORECASE)


@dataclass
class SkillRequest:
    user_id: str
    # What the patient wrote, cleaned; None for a photo, video, file or emoticon.
    text: Optional[str]


def parse_skill_request(raw_body: bytes) -> SkillRequest:
    """The user and message of a skill request body; else Refused 400 saying why."""
    if not raw_body or not raw_body.strip():
        raise Refused("The request body is empty; Kakao sends the skill request as JSON.")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise Refused("The request body is not valid JSON.")
    if not isinstance(payload, dict) or not isinstance(payload.get("userRequest"), dict):
        raise Refused("The request must be a JSON object with a 'userRequest' object (Kakao's skill payload).")
    user_request = payload["userRequest"]
    user = user_request.get("user")
    user_id = valid_sender(user.get("id")) if isinstance(user, dict) else None
    if user_id is None:
        raise Refused(
            f"'userRequest.user.id' must be a non-empty string of at most {MAX_SENDER_CHARS} characters.")
    utterance = user_request.get("utterance")
    if not isinstance(utterance, str):
        raise Refused("'userRequest.utterance' must be a string.")
    text = patient_text(utterance)
    if text is not None and _ONLY_MEDIA_URLS.fullmatch(text):
        text = None
    return SkillRequest(user_id, text)


def _fits_text_bubble(text: str) -> bool:
    return len(text) <= MAX_TEXT_CHARS


def bubble_texts(texts: List[str]) -> List[str]:
    """The bot's texts as at most three simpleText bubbles of at most 1,000 characters.

    Each text keeps its own bubble when they fit; otherwise the shortest neighbouring pair is
    joined, and as a last resort the third bubble is cut with an ellipsis.
    """
    bubbles = [piece for text in texts for piece in split_long_text(text, _fits_text_bubble)]
    while len(bubbles) > MAX_OUTPUTS:
        pairs = [(len(bubbles[i]) + len(bubbles[i + 1]), i) for i in range(len(bubbles) - 1)]
        joined_length, i = min(pairs)
        if joined_length + 2 > MAX_TEXT_CHARS:
            break
        bubbles[i:i + 2] = [bubbles[i] + "\n\n" + bubbles[i + 1]]
    if len(bubbles) > MAX_OUTPUTS:
        last = "\n\n".join(bubbles[MAX_OUTPUTS - 1:])
        bubbles = bubbles[:MAX_OUTPUTS - 1] + [last[:MAX_TEXT_CHARS - 1] + "…"]
    return bubbles


def skill_response(texts: List[str], buttons: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Kakao's `version: "2.0"` skill response for the bot's texts and buttons.

    A quick reply sends its `messageText` (the button's full title) back as the utterance. Its
    label holds MAX_LABEL_CHARS characters; when a title is longer, the options are numbered and
    listed in the text (labelled_options).
    """
    offered = usable_buttons(buttons[:MAX_QUICK_REPLIES])
    last_text, labels = labelled_options(texts[-1] if texts else "", offered, MAX_LABEL_CHARS)
    if last_text:
        texts = texts[:-1] + [last_text]
    template: Dict[str, Any] = {"outputs": [{"simpleText": {"text": text}} for text in bubble_texts(texts)]}
    if offered:
        template["quickReplies"] = [{"label": label, "action": "message", "messageText": button["title"]}
                                    for label, button in zip(labels, offered)]
    return {"version": "2.0", "template": template}


def reply_language(text: Optional[str]) -> str:
    """The language for the channel's own messages: the patient's message's, else Korean."""
    return (detect_language(text) if text else None) or DEFAULT_LANGUAGE


class KakaoInput(InputChannel):
    """Kakao i Open Builder skill server; the webhook is /webhooks/kakao/webhook."""

    @classmethod
    def name(cls) -> Text:
        return "kakao"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials or not credentials.get("skill_secret"):
            cls.raise_missing_credentials_exception()
        return cls(str(credentials["skill_secret"]))

    def __init__(self, skill_secret: Text, answer_timeout: float = ANSWER_TIMEOUT_SECONDS) -> None:
        self.skill_secret = skill_secret
        self.answer_timeout = answer_timeout
        self.offered_buttons = OfferedButtons()

    async def answer(self, on_new_message: OnNewMessage, skill_request: SkillRequest) -> Dict[str, Any]:
        """The skill response to one patient message, within Kakao's time limit."""
        user_id, text = skill_request.user_id, skill_request.text
        language = reply_language(text)
        message = MEDIA_MESSAGE if text is None else self.offered_buttons.resolve(user_id, text)
        try:
            answers = await collect_answers(on_new_message, message, user_id, self.name(), timeout=self.answer_timeout)
        except Exception:
            logger.exception("kakao: the bot failed on a message from %s", user_id)
            answers = []
        if answers is None:
            # The buttons of the late answer are never shown, so a typed number must not pick one.
            self.offered_buttons.remember(user_id, [])
            return skill_response([STILL_THINKING[language]], [])
        texts = [answer["text"] for answer in answers if answer.get("text")]
        buttons = [button for answer in answers for button in answer.get("buttons") or []][:MAX_QUICK_REPLIES]
        self.offered_buttons.remember(user_id, buttons)
        return skill_response(texts or [NOT_ANSWERED[language]], buttons)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        kakao_webhook = Blueprint("kakao_webhook", __name__)

        @kakao_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @kakao_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                check_shared_secret(request.headers, SECRET_HEADER, self.skill_secret)
                check_body_size(request.body)
                skill_request = parse_skill_request(request.body)
            except Refused as refused:
                return refusal_response(refused, self.name())
            return response.json(await self.answer(on_new_message, skill_request))

        return kakao_webhook
