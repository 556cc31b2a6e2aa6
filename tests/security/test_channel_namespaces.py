"""No channel can name another channel's conversation, and no client can choose a widget session.

The attack: anyone who knows a patient's WhatsApp number posted {"sender": "whatsapp:+66…"} to the
REST channel, read from the answers what the patient was asking about, and planted a red flag in the
record. Now every conversation id carries its channel, the REST caller gets a conversation of its own,
and a widget session is only what the server signed.
"""
import asyncio
import sqlite3

import pytest

from bot.conversation_ids import CONVERSATION_PREFIXES, channel_of, conversation_id, vendor_user_id
from tests.helpers import stored_user_texts, user_events, web_conversation
from tests.test_channel_socketio import WidgetClient
from tests.test_channels_builtin import new_whatsapp_number, post_twilio, whatsapp_message

HOSTILE_VENDOR_IDS = ["whatsapp:+66812345678", "line:U0123456789abcdef", "web:abc", "rest:x", ":", "a:b:c"]


@pytest.mark.parametrize("vendor_id", HOSTILE_VENDOR_IDS)
def test_a_conversation_id_always_names_the_channel_it_came_from(vendor_id):
    ids = {channel: conversation_id(channel, vendor_id) for channel in CONVERSATION_PREFIXES}
    assert len(set(ids.values())) == len(ids)
    for channel, conversation in ids.items():
        assert channel_of(conversation) == channel
        assert vendor_user_id(channel, conversation) == vendor_id
        for other in set(CONVERSATION_PREFIXES) - {channel}:
            with pytest.raises(ValueError):
                vendor_user_id(other, conversation)  # an answer never leaves on another channel


def _input_channels(tracker_db, conversation):
    return [event.get("input_channel") for event in user_events(tracker_db, conversation)]


def _slots(assistant, conversation):
    return assistant.api("GET", f"/conversations/{conversation}/tracker")[1]["slots"]


def test_a_rest_caller_who_knows_a_whatsapp_number_cannot_reach_that_patients_conversation(assistant):
    number = new_whatsapp_number()
    assert post_twilio(assistant, whatsapp_message(number, "What are the risks of a microdiscectomy?"))[0] == 200
    patient = conversation_id("twilio", number[len("whatsapp:"):])
    assert patient == number and _slots(assistant, patient)["procedure"] == "microdiscectomy"

    # The attack: ask what the patient was asking about, then plant a red flag and a hand-off.
    for text in ("/ask_risks", "I suddenly can't feel my groin and can't pee", "/request_human"):
        status, answers = assistant.api("POST", "/webhooks/rest/webhook", {"sender": number, "message": text})
        assert status == 200
        assert all(answer["recipient_id"] == "rest:" + number for answer in answers)

    assert stored_user_texts(assistant.tracker_db, patient) == ["What are the risks of a microdiscectomy?"]
    assert _input_channels(assistant.tracker_db, patient) == ["twilio"]
    assert _slots(assistant, patient)["red_flag_raised"] is not True
    # The caller talked to a conversation of its own, which knew nothing of the patient's.
    intruder = "rest:" + number
    assert _input_channels(assistant.tracker_db, intruder) == ["rest"] * 3
    assert _slots(assistant, intruder)["procedure"] is None


async def test_a_widget_cannot_choose_guess_or_forge_its_session(assistant):
    victim = await WidgetClient(assistant.url).start()
    try:
        await victim.say("What are the risks of a microdiscectomy?")
        await victim.answers_until_quiet()
    finally:
        await victim.stop()
    victim_conversation = web_conversation(victim.session_id)
    bare_id = victim_conversation[len("web:"):]  # what a staff screen or a log could show
    forged = [bare_id, victim_conversation, bare_id + ".AAAAAAAAAAAAAAAAAAAAAAAA",
              bare_id + "." + victim.session_id.split(".")[1][::-1], "whatsapp:+66812345678"]

    for guess in forged:
        attacker = await WidgetClient(assistant.url).start(guess)
        try:
            # Asked to continue a session the server did not sign: a new one, not the victim's.
            assert attacker.session_id != guess and web_conversation(attacker.session_id) != victim_conversation
            # Sent straight in a message, a forged session is refused and stored nowhere.
            await attacker.client.emit("user_uttered", {"message": "/request_human", "session_id": guess})
            refusal = await asyncio.wait_for(attacker.refusals.get(), 30)
            assert "not issued by the server" in refusal["error"]
        finally:
            await attacker.stop()

    assert stored_user_texts(assistant.tracker_db, victim_conversation) == ["What are the risks of a microdiscectomy?"]
    with sqlite3.connect(assistant.tracker_db) as db:
        planted = db.execute("SELECT sender_id FROM events WHERE type_name = 'user' AND intent_name = 'request_human'"
                             " AND sender_id LIKE 'web:%'").fetchall()
    assert planted == []


async def test_the_session_the_server_issued_continues_its_conversation(assistant):
    first = await WidgetClient(assistant.url).start()
    await first.say("hello")
    await first.answers_until_quiet()
    await first.stop()
    again = await WidgetClient(assistant.url).start(first.session_id)
    try:
        assert again.session_id == first.session_id
    finally:
        await again.stop()
