"""Switching the conversation's language when the patient asks for another one."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

# How patients name each language, in any of the four languages.
LANGUAGE_NAMES = {
    "th": ["thai", "ภาษาไทย", "ไทย", "태국어", "태국말", "泰语", "泰文", "泰國", "泰国"],
    "ko": ["korean", "ภาษาเกาหลี", "เกาหลี", "한국어", "한국말", "한글", "韩语", "韓語", "韩文", "朝鲜语"],
    "en": ["english", "ภาษาอังกฤษ", "อังกฤษ", "영어", "英语", "英文", "英語"],
    "zh": ["chinese", "mandarin", "ภาษาจีน", "จีน", "중국어", "중국말", "中文", "汉语", "漢語", "普通话", "华语", "国语"],
}


def requested_language(text: str) -> Optional[str]:
    """The language the patient asks for, by the first language name in the text."""
    lowered = text.lower()
    found = [(m.start(), lang) for lang, names in LANGUAGE_NAMES.items() for name in names
             for m in [re.search(re.escape(name), lowered)] if m]
    return min(found)[1] if found else None


class ActionChangeLanguage(Action):
    """Sets the conversation's language to the one asked for; the rule then confirms in it."""

    def name(self) -> Text:
        return "action_change_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict]:
        language = requested_language(tracker.latest_message.get("text") or "")
        return [SlotSet("language", language)] if language else []
