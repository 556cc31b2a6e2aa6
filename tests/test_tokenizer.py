"""The script-aware tokenizer: token texts and character offsets in every language."""
import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.tokenizer import ScriptAwareTokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return ScriptAwareTokenizer(ScriptAwareTokenizer.get_default_config())


def tokens_of(tokenizer, text):
    message = Message(data={"text": text})
    tokenizer.process([message])
    return message, [(t.text, t.start, t.end) for t in message.get("text_tokens")]


@pytest.mark.parametrize("text,expected_tokens,language", [
    ("ไมโครดิสเอกโตมีมีขั้นตอนอย่างไร",
     [("ไมโครดิสเอกโตมี", 0, 15), ("มี", 15, 17), ("ขั้นตอน", 17, 24), ("อย่างไร", 24, 31)], "th"),
    # Whitespace between Thai words is no token, and offsets skip it.
    ("ผ่าตัด  MISS เสี่ยงไหม",
     [("ผ่าตัด", 0, 6), ("MISS", 8, 12), ("เสี่ยง", 13, 19), ("ไหม", 19, 22)], "th"),
    ("显微椎间盘切除术的风险有哪些",
     [("显微椎间盘切除术", 0, 8), ("的", 8, 9), ("风险", 9, 11), ("有", 11, 12), ("哪些", 12, 14)], "zh"),
    ("脊柱微创手术需要全麻吗",
     [("脊柱微创手术", 0, 6), ("需要", 6, 8), ("全麻", 8, 10), ("吗", 10, 11)], "zh"),
    ("미세 후궁절제술 후 회복은?",
     [("미세", 0, 2), ("후궁절제술", 3, 8), ("후", 9, 10), ("회복은", 11, 14)], "ko"),
    ("How soon can I drive after a microdiscectomy?",
     [("How", 0, 3), ("soon", 4, 8), ("can", 9, 12), ("I", 13, 14), ("drive", 15, 20), ("after", 21, 26),
      ("a", 27, 28), ("microdiscectomy", 29, 44)], "en"),
])
def test_tokens_and_offsets(tokenizer, text, expected_tokens, language):
    message, tokens = tokens_of(tokenizer, text)
    assert tokens == expected_tokens
    assert all(text[start:end] == token for token, start, end in tokens)
    assert message.get("language") == language


def test_emoji_only_text_is_one_token_without_language(tokenizer):
    message, tokens = tokens_of(tokenizer, "😀😀")
    assert tokens == [("😀😀", 0, 2)]
    assert message.get("language") is None


def test_language_is_part_of_the_parse_output(tokenizer):
    message, _ = tokens_of(tokenizer, "안녕하세요")
    assert message.as_dict(only_output_properties=True)["language"] == "ko"
