"""Phone numbers written the ways the security review found unmasked (issue 11, "Masking gaps")."""
import pytest

from bot.staff.privacy import PII_PLACEHOLDERS, mask_pii


@pytest.mark.parametrize("text", [
    "call me on (02) 123 4567 please",
    "โทร (081) 234-5678 ค่ะ",
    "my number is 0066 81 234 5678",
    "0082 10 1234 5678 로 연락주세요",
    "whatsapp 66812345678",
    "เบอร์66812345678ค่ะ",
    "66 2 123 4567",
    "제 번호 821012345678",
    "我的电话8613812345678",
])
def test_the_phone_numbers_the_review_found_are_masked(text):
    # Masked as a phone number, or as a national ID when it has an ID's 13 digits: hidden either way.
    masked = mask_pii(text)
    assert any(p in masked for p in PII_PLACEHOLDERS) and not any(ch.isdigit() for ch in masked), masked


@pytest.mark.parametrize("text", ["L4-L5 and L5-S1", "recovery takes 66 days?", "it costs 66,000 baht",
                                  "surgery on 2026-11-25 at 10:30", "(2) weeks later"])
def test_numbers_about_surgery_are_still_kept(text):
    assert mask_pii(text) == text


def test_a_slot_holding_what_the_patient_typed_is_masked_on_a_masked_page():
    import json as _json
    from types import SimpleNamespace

    from bot.staff.events import turns_from_rows

    events = [{"event": "user", "text": "call me", "timestamp": 1.0, "parse_data": {}},
              {"event": "slot", "name": "callback_number", "value": "081 234 5678", "timestamp": 1.0}]
    rows = [SimpleNamespace(id=n, type_name=e["event"], timestamp=e["timestamp"], data=_json.dumps(e))
            for n, e in enumerate(events)]
    masked = turns_from_rows(rows, 0, True)[-1]["slots"]["callback_number"]
    assert "234" not in masked and "5678" not in masked
    assert turns_from_rows(rows, 0, False)[-1]["slots"]["callback_number"] == "081 234 5678"
