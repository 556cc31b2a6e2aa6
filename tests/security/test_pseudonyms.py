"""Conversation ids (for WhatsApp, phone numbers) never reach the files committed to git: corrections
and saved test conversations name a conversation by a keyed hash (issue 11, "Masking gaps")."""
from bot.staff.pseudonym import pseudonym
from bot.staff.teach import Corrections, conversation_as_test, save_test

WHATSAPP_ID = "whatsapp:+66812345678"
KEY = b"k" * 32


def test_a_pseudonym_is_stable_keyed_and_reveals_nothing():
    name = pseudonym(WHATSAPP_ID, KEY)
    assert name == pseudonym(WHATSAPP_ID, KEY)
    assert name != pseudonym(WHATSAPP_ID, b"another key" * 3)
    assert "812345678" not in name and name != pseudonym("whatsapp:+66812345679", KEY)


def test_a_correction_names_its_conversation_by_pseudonym(tmp_path):
    corrections = Corrections(directory=tmp_path / "corrections", nlu_dir=tmp_path / "nlu")
    corrections.add("what are the risks", "ask_risks", None, user="reviewer", conversation=WHATSAPP_ID, language="en")
    written = corrections.path("en").read_text(encoding="utf-8")
    assert "812345678" not in written and pseudonym(WHATSAPP_ID) in written


def test_a_saved_test_names_its_conversation_by_pseudonym(tmp_path):
    conversation = {"id": WHATSAPP_ID, "turns": [{"patient": {"text": "hello"}, "answers": [{"text": "Hello!"}]}]}
    path = save_test(conversation, "reviewer", directory=tmp_path)
    assert "812345678" not in path.name and "812345678" not in path.read_text(encoding="utf-8")
    assert pseudonym(WHATSAPP_ID) in path.name
    assert "812345678" not in conversation_as_test(conversation, "reviewer")


def test_the_web_server_refuses_to_start_with_a_guessable_pseudonym_key():
    import os
    import subprocess
    import sys

    from bot.running_assistant import PROJECT_ROOT

    started = subprocess.run([sys.executable, "-m", "bot.web_server", "--port", "0", "--staff-port", "0"],
                             cwd=PROJECT_ROOT, env=dict(os.environ, STAFF_PSEUDONYM_KEY="short"),
                             capture_output=True, text=True, timeout=60)
    assert started.returncode != 0
    assert "The web server does not start: STAFF_PSEUDONYM_KEY is 5 characters long" in started.stderr
