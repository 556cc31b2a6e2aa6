"""Plays staff test conversations against the assistant and checks every answer.

    python -m bot.staff.conversation_tests [PATH ...] [--url URL] [--report-dir DIR]

Without --url it starts the assistant with the current model on free ports (bot/running_assistant.py)
and stops it afterwards. Each conversation talks through Rasa's REST channel as a new patient, then
reads the turn back through Rasa's HTTP API to see whether it handed over to staff or escalated.
Writes report.html and junit.xml (bot/staff/conversation_report.py); exits 1 when a conversation
fails, 2 when the files or the assistant cannot be used.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot import api_token
from bot.conversation_ids import conversation_id
from bot.language import detect_language
from bot.running_assistant import with_token
from bot.staff.queries import STAFF_SENDER_PREFIX
from bot.staff.conversation_format import Conversation, ConversationFileError, Expectation, load_conversations

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONVERSATIONS = PROJECT_ROOT / "tests" / "conversations"
DEFAULT_REPORT_DIR = PROJECT_ROOT / "reports" / "conversations"
# Test conversations are stored like patients' ones; the prefix lets the staff console tell them apart.
SENDER_PREFIX = STAFF_SENDER_PREFIX + "test-"
# The slots the assistant sets when it hands over to staff or escalates (domain.yml).
HANDOFF_SLOT, RED_FLAG_SLOT = "handoff_requested", "red_flag_raised"


class AssistantUnavailable(RuntimeError):
    """The assistant could not be reached or answered with an error."""


@dataclass
class Answer:
    """Everything the assistant did in reply to one patient message."""
    texts: List[str]
    buttons: List[str]
    hands_off: bool
    escalates: bool

    @property
    def language(self) -> Optional[str]:
        return detect_language(" ".join(self.texts)) if self.texts else None

    @property
    def searchable(self) -> str:
        """Texts and button titles, in one case-folded string, for the word checks."""
        return "\n".join(self.texts + self.buttons).casefold()


class AssistantClient:
    """Rasa's REST channel and HTTP API, as a patient and as the checker use them."""

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 60):
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    def _request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        request = urllib.request.Request(
            with_token(self.url + path, self.token), method=method, headers={"Content-Type": "application/json"},
            data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise AssistantUnavailable(f"{method} {path} answered {error.code}: {error.read()[:300]!r}") from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise AssistantUnavailable(f"{method} {path} failed: {error}") from error

    def check_available(self) -> None:
        """AssistantUnavailable unless Rasa answers with a model and its HTTP API (--enable-api) is on."""
        status = self._request("GET", "/status")
        if not isinstance(status, dict) or not status.get("model_id"):
            raise AssistantUnavailable(f"{self.url} has no model loaded")

    def exchange(self, sender: str, text: str) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
        """(the assistant's messages, the conversation's tracker) after sending `text` as `sender`."""
        messages = self._request("POST", "/webhooks/rest/webhook", {"sender": sender, "message": text}) or []
        conversation = conversation_id("rest", sender)
        tracker = self._request("GET", f"/conversations/{urllib.parse.quote(conversation, safe=':')}/tracker")
        return messages, tracker if isinstance(tracker, dict) else {}

    def erase(self, conversation: str) -> int:
        """Erases a stored conversation (by its id, as stored) in the running assistant; the events deleted."""
        answer = self._request("POST", "/webhooks/rest/erase", {"conversation": conversation}) or {}
        return int(answer.get("erased", 0))

    def send(self, sender: str, text: str) -> Answer:
        messages, tracker = self.exchange(sender, text)
        slots_set = _slots_set_since_last_message(tracker.get("events") or [])
        return Answer(
            texts=[m["text"] for m in messages if m.get("text")],
            buttons=[b.get("title", "") for m in messages for b in m.get("buttons") or []],
            hands_off=slots_set.get(HANDOFF_SLOT) is True,
            escalates=slots_set.get(RED_FLAG_SLOT) is True,
        )


def _slots_set_since_last_message(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The slots set after the latest patient message: what this turn did."""
    slots: Dict[str, Any] = {}
    for event in reversed(events):
        if event.get("event") == "user":
            break
        if event.get("event") == "slot" and event.get("name") not in slots:
            slots[event.get("name")] = event.get("value")
    return slots


def check(expect: Expectation, answer: Answer) -> List[str]:
    """What is wrong with the answer, one sentence per problem; empty when it is as expected."""
    if not answer.texts and not answer.buttons:
        return ["the assistant did not answer"]
    problems = []
    if expect.language and answer.language != expect.language:
        problems.append(f"the answer is in {answer.language or 'no language'}, expected {expect.language}")
    text = answer.searchable
    problems += [f"missing: {p!r}" for p in expect.contains if p.casefold() not in text]
    if expect.contains_any and not any(p.casefold() in text for p in expect.contains_any):
        problems.append("none of these appear: " + ", ".join(map(repr, expect.contains_any)))
    problems += [f"must not appear: {p!r}" for p in expect.not_contains if p.casefold() in text]
    if expect.buttons is not None:
        offered = {b.strip().casefold() for b in answer.buttons}
        if not expect.buttons and answer.buttons:
            problems.append("buttons were offered, expected none: " + ", ".join(map(repr, answer.buttons)))
        problems += [f"button missing: {b!r}" for b in expect.buttons if b.strip().casefold() not in offered]
    for flag, done, wording in (("hands_off", answer.hands_off, "hand over to staff"),
                                ("escalates", answer.escalates, "escalate an urgent symptom")):
        wanted = getattr(expect, flag)
        if wanted is True and not done:
            problems.append(f"it did not {wording}")
        elif wanted is False and done:
            problems.append(f"it should not {wording}, but did")
    return problems


@dataclass
class TurnResult:
    patient: str
    expect: Expectation
    answer: Optional[Answer] = None
    problems: List[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.answer is not None and not self.problems


@dataclass
class ConversationResult:
    conversation: Conversation
    turns: List[TurnResult]
    seconds: float
    error: Optional[str] = None  # the assistant failed; the turns after it were not played

    @property
    def passed(self) -> bool:
        return self.error is None and all(turn.passed for turn in self.turns)


def run_conversation(client: AssistantClient, conversation: Conversation) -> ConversationResult:
    sender = SENDER_PREFIX + uuid.uuid4().hex[:12]
    started = time.monotonic()
    results: List[TurnResult] = []
    for turn in conversation.turns:
        result = TurnResult(turn.patient, turn.expect)
        results.append(result)
        try:
            result.answer = client.send(sender, turn.patient)
        except AssistantUnavailable as error:
            result.problems.append(str(error))
            return ConversationResult(conversation, results, time.monotonic() - started, error=str(error))
        result.problems = check(turn.expect, result.answer)
    return ConversationResult(conversation, results, time.monotonic() - started)


def run_all(client: AssistantClient, conversations: List[Conversation], out=sys.stdout) -> List[ConversationResult]:
    results = []
    for conversation in conversations:
        result = run_conversation(client, conversation)
        results.append(result)
        print(f"{'PASS' if result.passed else 'FAIL'}  {relative_path(conversation.source)}: {conversation.name}",
              file=out, flush=True)
    return results


def relative_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run staff test conversations against the assistant.")
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_CONVERSATIONS],
                        help="files or folders of test conversations (default tests/conversations)")
    parser.add_argument("--url", default=os.environ.get("RASA_URL") or None,
                        help="a running assistant's Rasa URL; without it the assistant is started here")
    parser.add_argument("--token", default=api_token.stored(),
                        help="the API's token (default $RASA_AUTH_TOKEN, else the one `make run` keeps in var/)")
    parser.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR,
                        help="where report.html and junit.xml go (default reports/conversations)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from bot.staff.conversation_report import write_html, write_junit

    args = parse_args(argv)
    try:
        conversations = load_conversations(args.paths)
    except ConversationFileError as error:
        print(f"Cannot run the test conversations:\n{error}", file=sys.stderr)
        return 2
    print(f"{len(conversations)} test conversations", flush=True)
    try:
        if args.url:
            client = AssistantClient(args.url, args.token)
            client.check_available()
            results = run_all(client, conversations)
        else:
            results = _run_with_own_assistant(conversations)
    except (AssistantUnavailable, RuntimeError) as error:
        print(f"The assistant is not available: {error}", file=sys.stderr)
        return 2
    args.report_dir.mkdir(parents=True, exist_ok=True)
    write_html(results, args.report_dir / "report.html")
    write_junit(results, args.report_dir / "junit.xml")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed. Report: {args.report_dir / 'report.html'}")
    return 1 if failed else 0


def _run_with_own_assistant(conversations: List[Conversation]) -> List[ConversationResult]:
    from bot.running_assistant import RunningAssistant

    with tempfile.TemporaryDirectory(prefix="conversation-tests-") as workdir:
        print("starting the assistant with the current model …", flush=True)
        assistant = RunningAssistant(Path(workdir))
        try:
            return run_all(AssistantClient(assistant.url, assistant.token), conversations)
        finally:
            assistant.stop()


if __name__ == "__main__":
    sys.exit(main())
