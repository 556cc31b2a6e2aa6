"""A slow turn does not make Telegram or Messenger resend the message and the patient get two answers
(issue 11, "Duplicate answers"): the webhook answers 200 at once, the turn follows in the background,
and an update the vendor sends again is answered once, with nothing lost."""
import time

from bot.conversation_ids import conversation_id
from tests.helpers import stored_turns, user_events
from tests.test_channels_builtin import (
    messenger_body, messenger_url, new_chat, new_psid, post, post_telegram, sent_to_chat, signed, text_update,
)

def test_a_telegram_update_sent_again_is_answered_once(assistant, vendor_api):
    chat = new_chat()
    update = text_update(chat, "What are the risks of a microdiscectomy?")
    assert [post_telegram(assistant, update)[0] for _ in range(3)] == [200] * 3  # Telegram's retries
    conversation = conversation_id("telegram", chat)
    assert len(stored_turns(assistant.tracker_db, conversation)) == 1
    time.sleep(2)  # a duplicate would be answered by now
    assert len(user_events(assistant.tracker_db, conversation)) == 1
    first_paragraphs = [m for m in sent_to_chat(vendor_api, chat) if "microdiscectomy" in m["text"].lower()]
    assert len({m["text"] for m in first_paragraphs}) == len(first_paragraphs), "an answer was sent twice"


def test_a_telegram_patients_messages_are_all_answered_in_order(assistant):
    chat = new_chat()
    texts = ["hello", "What is a microdiscectomy?", "and the risks?"]
    for text in texts:
        assert post_telegram(assistant, text_update(chat, text))[0] == 200
    stored = stored_turns(assistant.tracker_db, conversation_id("telegram", chat), len(texts))
    assert [event["text"] for event in stored] == texts


def test_a_messenger_message_sent_again_is_answered_once(assistant):
    sender = new_psid()
    body = messenger_body((sender, {"text": "What is a microdiscectomy?"}))
    assert [post(messenger_url(assistant), body, signed(body))[0] for _ in range(3)] == [200] * 3
    conversation = conversation_id("facebook", sender)
    assert len(stored_turns(assistant.tracker_db, conversation)) == 1
    time.sleep(2)
    assert [event["text"] for event in user_events(assistant.tracker_db, conversation)] == ["What is a microdiscectomy?"]
