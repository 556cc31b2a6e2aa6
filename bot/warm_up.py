"""Answer the first message after a start as fast as the hundredth.

TensorFlow builds DIET's and TED's prediction graphs on their first call, which makes the first
message after `rasa run` take seconds; KakaoTalk gives a skill 5 s before the patient sees
"still preparing". So once the server is up, one message per language goes through the NLU
pipeline and one prediction through the policies, on a tracker that is never stored.
"""
from __future__ import annotations

import logging
import time
from typing import Optional

from rasa.core.agent import Agent
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

WARM_UP_TEXTS = ("hello", "สวัสดีครับ", "안녕하세요", "你好")
WARM_UP_SENDER = "warm-up"  # never stored: the tracker below lives only in memory


async def warm_up(agent: Optional[Agent]) -> None:
    if agent is None or not agent.is_ready():
        return
    started = time.monotonic()
    try:
        for text in WARM_UP_TEXTS:
            parsed = await agent.parse_message(text)
        tracker = DialogueStateTracker.from_events(
            WARM_UP_SENDER,
            [ActionExecuted(ACTION_LISTEN_NAME),
             UserUttered(parsed["text"], parsed.get("intent"), parsed.get("entities"), parse_data=parsed)],
            slots=agent.domain.slots,
        )
        agent.predict_next_with_tracker(tracker)
    except Exception:  # a failed warm-up only costs speed; the first patient still gets an answer
        logger.exception("Warm-up failed; the first message will be slower.")
        return
    logger.info("Warmed up the model in %.1f s.", time.monotonic() - started)
