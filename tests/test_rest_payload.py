"""What the REST channel accepts, refuses, and passes on to the bot."""
import json

import pytest

from bot.channels.common import Refused
from bot.channels.rest import parse_rest_payload
from bot.text_input import MAX_MESSAGE_CHARS, clean_message


@pytest.mark.parametrize("body,reason", [
    (b"", "empty"),
    (b"   ", "empty"),
    (b"{", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"null", "JSON object"),
    (b"[]", "JSON object"),
    (b'"hello"', "JSON object"),
    (json.dumps({"message": "hi"}).encode(), "'sender'"),
    (json.dumps({"sender": "", "message": "hi"}).encode(), "'sender'"),
    (json.dumps({"sender": "y" * 5000, "message": "hi"}).encode(), "at most"),
    (json.dumps({"sender": "x", "message": None}).encode(), "'message' must be a string"),
    (json.dumps({"sender": "x", "message": 12345}).encode(), "'message' must be a string"),
    (json.dumps({"sender": "x", "message": ""}).encode(), "'message' is empty"),
    (json.dumps({"sender": "x", "message": " \n\t "}).encode(), "'message' is empty"),
    (json.dumps({"sender": "x", "message": "\u0000\u0001\u200b\ufeff"}).encode(), "'message' is empty"),
    (json.dumps({"sender": "x", "message": "hi", "metadata": [1]}).encode(), "'metadata'"),
])
def test_malformed_requests_are_refused_with_a_reason(body, reason):
    with pytest.raises(Refused, match=reason):
        parse_rest_payload(body)


def test_a_valid_request_is_cleaned():
    sender, text, metadata = parse_rest_payload(json.dumps(
        {"sender": "patient-1", "message": " \u200bสวัสดี\u0000ค่ะ ", "metadata": {"page": "spine"}}).encode())
    assert (sender, text, metadata) == ("patient-1", "สวัสดีค่ะ", {"page": "spine"})


def test_long_messages_are_cut_to_the_documented_limit():
    text = clean_message("ก" * 20000)
    assert len(text) == MAX_MESSAGE_CHARS
    assert clean_message("a\tb\nc") == "a\tb\nc"
