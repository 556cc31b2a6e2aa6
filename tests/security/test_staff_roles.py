"""A viewer sees patients' data masked; only a reviewer unmasks, corrects or exports, and every
unmasked view is in the access log, unmasked lists included (issue 11, "Roles")."""
import json

import pytest

from tests.staff_console_server import ConsoleServer, staff_session
from tests.test_staff_console import patient_conversation


@pytest.fixture(scope="module")
def console(assistant, tmp_path_factory):
    server = ConsoleServer(assistant, tmp_path_factory.mktemp("roles"))
    yield server
    server.stop()


def _reviewer_only(conversation):
    return [
        ("GET", f"/staff/api/conversations/{conversation}?mask=false", None),
        ("GET", "/staff/api/conversations?mask=false", None),
        ("GET", f"/staff/api/conversations/{conversation}/test.yml", None),
        ("GET", f"/staff/api/conversations/{conversation}/export.json", None),
        ("POST", f"/staff/api/conversations/{conversation}/save-test", {}),
        ("POST", "/staff/api/corrections", {"conversation": conversation, "turn": 1, "intent": "ask_risks"}),
        ("POST", "/staff/api/corrections/remove", {"text": "x", "language": "en"}),
        ("GET", "/staff/api/corrections.yml", None),
    ]


def test_a_viewer_sees_masked_data_and_is_refused_the_rest(assistant, console):
    conversation = patient_conversation(assistant, "my number is 081-234-5678, what are the risks of UBE?")
    viewer = staff_session(console, "carol")
    assert viewer.get(console.url + "/staff/api/session").json() == {"user": "carol", "role": "viewer"}
    shown = viewer.get(console.url + f"/staff/api/conversations/{conversation}").json()
    assert "081-234-5678" not in json.dumps(shown, ensure_ascii=False)
    for method, path, body in _reviewer_only(conversation):
        response = viewer.request(method, console.url + path, json=body)
        assert response.status_code == 403, (method, path)
        assert "Only a reviewer" in response.json()["error"]
    assert not (console.workdir / "corrections").exists() or "081" not in "".join(
        p.read_text(encoding="utf-8") for p in (console.workdir / "corrections").glob("*.yml"))


def test_a_reviewer_may_unmask_and_every_unmasked_view_is_logged(assistant, console):
    conversation = patient_conversation(assistant, "my number is 089-765-4321")
    reviewer = staff_session(console, "alice")
    shown = reviewer.get(console.url + f"/staff/api/conversations/{conversation}", params={"mask": "false"})
    assert shown.status_code == 200 and "089-765-4321" in json.dumps(shown.json(), ensure_ascii=False)
    listing = reviewer.get(console.url + "/staff/api/conversations",
                           params={"mask": "false", "page_size": 100}).json()
    listed = [c["id"] for c in listing["conversations"]]
    assert conversation in listed
    log = [json.loads(line) for line in (console.workdir / "staff_access.log").read_text(encoding="utf-8").splitlines()]
    assert {"user": "alice", "action": "read unmasked", "conversation": conversation}.items() <= next(
        e for e in log if e["action"] == "read unmasked" and e["conversation"] == conversation).items()
    listed_logged = {e["conversation"] for e in log if e["action"] == "listed unmasked" and e["user"] == "alice"}
    assert set(listed) <= listed_logged


def test_masked_lists_and_pages_never_show_a_whatsapp_number(assistant, console):
    from tests.test_channels_builtin import post_twilio, whatsapp_message

    number = "whatsapp:+66812345670"
    assert post_twilio(assistant, whatsapp_message(number, "my number is 0812345670, what are the risks of UBE?"))[0] == 200
    viewer = staff_session(console, "carol")
    listing = viewer.get(console.url + "/staff/api/conversations", params={"page_size": 100}).json()
    shown = next(c for c in listing["conversations"] if c["channels"] == ["twilio"] and
                 c["first_message"].startswith("my number is"))
    assert shown["id"].startswith("whatsapp:conv-")
    page = viewer.get(console.url + f"/staff/api/conversations/{shown['id']}").json()
    everything = json.dumps([listing, page], ensure_ascii=False)
    assert "812345670" not in everything and "0812345670" not in everything
    assert page["id"] == shown["id"] and page["turns"][-1]["patient"]["text"].startswith("my number is")


def test_a_reviewer_exports_one_patients_data_as_json_and_the_export_is_logged(assistant, console):
    conversation = patient_conversation(assistant, "my number is 086-111-2222", "What is a microdiscectomy?")
    other = patient_conversation(assistant, "someone else's question")
    reviewer = staff_session(console, "alice")
    masked_name = reviewer.get(console.url + f"/staff/api/conversations/{conversation}").json()["id"]
    exported = reviewer.get(console.url + f"/staff/api/conversations/{masked_name}/export.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert "086" not in exported.headers["Content-Disposition"]
    data = exported.json()
    assert data["conversation"] == conversation
    texts = [e["text"] for e in data["events"] if e.get("event") == "user"]
    assert texts == ["my number is 086-111-2222", "What is a microdiscectomy?"]  # unmasked: it is theirs
    assert any(e.get("event") == "bot" for e in data["events"])
    assert other not in exported.text and "someone else" not in exported.text
    log = [json.loads(line) for line in (console.workdir / "staff_access.log").read_text(encoding="utf-8").splitlines()]
    assert any(e["action"] == "export for the patient" and e["conversation"] == conversation and e["user"] == "alice"
               for e in log)
    assert reviewer.get(console.url + "/staff/api/conversations/rest:nobody-here/export.json").status_code == 404
