"""Staff test conversations: the examples pass against the trained model, and the runner's
checks, reports and errors say what staff need to know."""
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from bot.staff.conversation_format import ConversationFileError, load_conversations
from bot.staff.conversation_tests import AssistantClient, check, main, run_conversation
from bot.running_assistant import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "tests" / "conversations"
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.yml"))


def test_examples_cover_every_procedure_and_topic_in_every_language():
    from bot.content import PROCEDURES
    from bot.procedure_names import LANGUAGES

    for language in LANGUAGES:
        names = {p.stem for p in (EXAMPLES / language).glob("*.yml")}
        assert set(PROCEDURES) <= names, f"{language}: no example conversations for {set(PROCEDURES) - names}"
        for procedure in PROCEDURES:
            turns = [t for c in load_conversations([EXAMPLES / language / f"{procedure}.yml"]) for t in c.turns]
            # 13 topics, each checked by the words of its answer
            assert sum(bool(t.expect.contains or t.expect.contains_any) for t in turns) >= 13, (language, procedure)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[str(p.relative_to(EXAMPLES)) for p in EXAMPLE_FILES])
def test_example_conversations_pass(assistant, path):
    client = AssistantClient(assistant.url, assistant.token)
    failures = []
    for conversation in load_conversations([path]):
        result = run_conversation(client, conversation)
        failures += [f"{conversation.name}, turn {i} {t.patient!r}: {'; '.join(t.problems)}"
                     for i, t in enumerate(result.turns, 1) if not t.passed]
    assert not failures, "\n".join(failures)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_failing_turn_is_shown_side_by_side_in_html_and_junit(assistant, tmp_path):
    conversations = write(tmp_path / "mixed.yml", """
conversations:
  - name: passes
    language: en
    turns:
      - patient: what is a microdiscectomy
        expect: {contains: [microscope]}
  - name: expects what the documents never say
    language: en
    turns:
      - patient: what is a microdiscectomy
        expect: {contains: [microscope]}
      - patient: "<img src=x onerror=alert(1)> what are the risks"
        expect: {contains: [guaranteed painless], language: ko}
""")
    reports = tmp_path / "reports"
    assert main([str(conversations), "--url", assistant.url, "--token", assistant.token, "--report-dir", str(reports)]) == 1

    page = (reports / "report.html").read_text(encoding="utf-8")
    assert "1 of 2 conversations passed, 1 failed" in page
    assert "<img src=x" not in page
    failing_row, = re.findall(r'<tr class="fail">(.*?)</tr>', page, re.S)
    patient, expected, actual, problems = re.findall(r"<td[^>]*>(.*?)</td>", failing_row, re.S)[1:]
    assert patient == "&lt;img src=x onerror=alert(1)&gt; what are the risks"  # escaped, never run
    assert "guaranteed painless" in expected and "language: ko" in expected
    assert actual.endswith("language: en") and len(actual) > 100  # the assistant's whole answer
    assert "missing: &#x27;guaranteed painless&#x27;" in problems and "the answer is in en, expected ko" in problems

    suite = ElementTree.parse(reports / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    failing = [case for case in suite.findall("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failing] == ["expects what the documents never say"]
    assert "turn 2" in failing[0].find("failure").text
    assert "guaranteed painless" in failing[0].find("failure").get("message")


def test_hand_off_and_escalation_are_read_from_the_conversation(assistant):
    client = AssistantClient(assistant.url, assistant.token)
    human = client.send("staff-test-handoff", "I would like to speak to a nurse please")
    assert human.hands_off and not human.escalates
    urgent = client.send("staff-test-urgent", "since the operation I can't feel my legs and can't pass urine")
    assert urgent.escalates and not urgent.hands_off
    question = client.send("staff-test-question", "what is a microdiscectomy")
    assert not question.hands_off and not question.escalates

    from bot.staff.conversation_format import Expectation
    assert check(Expectation(hands_off=True), question) == ["it did not hand over to staff"]
    assert check(Expectation(escalates=False), urgent) == ["it should not escalate an urgent symptom, but did"]
    assert check(Expectation(buttons=()), question) == []


@pytest.mark.parametrize("text, message", [
    ("conversations: []", "conversations: [] is too short"),
    ("conversations:\n  - name: a\n    turns:\n      - patient: hi\n        expect: {language: fr}",
     "conversation 1, turn 1, expect.language: 'fr' is not one of"),
    ("conversations:\n  - name: a\n    turns:\n      - expect: {contains: [x]}",
     "conversation 1, turn 1: 'patient' is a required property"),
    ("conversations:\n  - name: a\n    turns:\n      - patient: hi\n        expect: {contain: [x]}",
     "Additional properties are not allowed ('contain' was unexpected)"),
    ("conversations: [name: a", "not valid YAML"),
])
def test_a_mistake_in_a_file_says_where_it_is(tmp_path, text, message):
    path = write(tmp_path / "broken.yml", text)
    with pytest.raises(ConversationFileError) as error:
        load_conversations([path])
    assert str(path) in str(error.value) and message in str(error.value)


def test_the_command_explains_what_it_cannot_run(tmp_path, capsys):
    assert main([str(tmp_path / "missing.yml"), "--url", "http://127.0.0.1:9"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    good = write(tmp_path / "good.yml", "conversations:\n  - name: a\n    turns:\n      - patient: hi\n")
    assert main([str(good), "--url", "http://127.0.0.1:9", "--report-dir", str(tmp_path)]) == 2
    assert "The assistant is not available: GET /status failed" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_without_a_url_it_starts_the_assistant_itself(tmp_path):
    path = write(tmp_path / "thai.yml", """
conversations:
  - name: Thai greeting
    language: th
    turns:
      - patient: สวัสดีค่ะ
""")
    assert main([str(path), "--report-dir", str(tmp_path / "reports")]) == 0
    assert (tmp_path / "reports" / "junit.xml").exists()
