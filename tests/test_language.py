"""Language detection from the script."""
import pytest

from bot.language import detect_language


@pytest.mark.parametrize("text,expected", [
    ("สวัสดีค่ะ", "th"),
    ("안녕하세요", "ko"),
    ("你好，请问", "zh"),
    ("hello there", "en"),
    # Mixed scripts: the Asian script decides, whatever the English names in it.
    ("ผ่าตัด MISS เสี่ยงไหมครับ", "th"),
    ("PELD 수술 후 회복 기간은요?", "ko"),
    ("UBE手术多久能恢复", "zh"),
    ("microdiscectomy ราคาเท่าไหร่", "th"),
    ("What does 微创 mean?", "zh"),
])
def test_language_of_a_message(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["ok", "OK", "okay", "12345", "😀👍", "???", "", "PELD", "microdiscectomy", "ok UBE"])
def test_no_language_signal(text):
    assert detect_language(text) is None
