"""Reports of a test conversation run: HTML for the staff who read it, JUnit XML for CI.

In the HTML every failing turn shows the patient's message, what was expected and what the
assistant answered side by side. Everything from the files and the assistant is escaped.
"""
from __future__ import annotations

import datetime
import html
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import List

import yaml

from bot.staff.conversation_tests import ConversationResult, TurnResult, relative_path

STYLE = """
body { font-family: "Noto Sans", "Noto Sans Thai", "Noto Sans CJK SC", "Noto Sans CJK KR", sans-serif;
       margin: 2rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; } .summary { font-size: 1.1rem; }
details { border: 1px solid #ccc; border-radius: 6px; margin: .6rem 0; padding: .4rem .8rem; }
details.fail { border-color: #b3261e; background: #fff6f5; }
summary { cursor: pointer; font-weight: 600; }
.badge { display: inline-block; min-width: 3.2rem; text-align: center; border-radius: 4px; color: #fff;
         padding: 0 .3rem; margin-right: .5rem; }
.badge.pass { background: #2e7d32; } .badge.fail { background: #b3261e; } .badge.skip { background: #777; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; table-layout: fixed; }
th, td { border: 1px solid #ddd; padding: .35rem .5rem; vertical-align: top; text-align: left;
         white-space: pre-wrap; word-break: break-word; }
th { background: #f3f3f3; } tr.fail td { background: #fde7e5; } .problems { color: #b3261e; }
.num { width: 2.5rem; } .source { color: #555; font-weight: normal; font-size: .9rem; }
"""


def _expected_text(turn: TurnResult) -> str:
    written = turn.expect.as_dict()
    return yaml.safe_dump(written, allow_unicode=True, sort_keys=False).strip() if written else "(only an answer)"


def _actual_text(turn: TurnResult) -> str:
    if turn.answer is None:
        return "(not played)" if not turn.problems else "(no answer)"
    answer = turn.answer
    lines = list(answer.texts)
    if answer.buttons:
        lines.append("buttons: " + " | ".join(answer.buttons))
    flags = [name for name, on in (("handed over to staff", answer.hands_off), ("escalated", answer.escalates)) if on]
    lines.append(f"language: {answer.language or '-'}" + (f"; {', '.join(flags)}" if flags else ""))
    return "\n\n".join(lines)


def _turn_row(index: int, turn: TurnResult) -> str:
    state = "pass" if turn.passed else "fail"
    problems = "".join(f"<div>{html.escape(p)}</div>" for p in turn.problems)
    return (f'<tr class="{state}"><td class="num">{index}</td><td>{html.escape(turn.patient)}</td>'
            f"<td>{html.escape(_expected_text(turn))}</td><td>{html.escape(_actual_text(turn))}</td>"
            f'<td class="problems">{problems or "✓"}</td></tr>')


def _conversation_section(result: ConversationResult) -> str:
    state = "pass" if result.passed else "fail"
    conversation = result.conversation
    unplayed = len(conversation.turns) - len(result.turns)
    rows = "".join(_turn_row(i, t) for i, t in enumerate(result.turns, 1))
    if unplayed:
        rows += f'<tr><td colspan="5">{unplayed} more turn(s) not played: the assistant failed.</td></tr>'
    return (f'<details class="{state}"{" open" if not result.passed else ""}><summary>'
            f'<span class="badge {state}">{state.upper()}</span>{html.escape(conversation.name)} '
            f'<span class="source">{html.escape(relative_path(conversation.source))} · {result.seconds:.1f} s</span>'
            f"</summary><table><thead><tr><th class=\"num\">#</th><th>Patient</th><th>Expected</th>"
            f"<th>Assistant answered</th><th>Problems</th></tr></thead><tbody>{rows}</tbody></table></details>")


def write_html(results: List[ConversationResult], path: Path) -> None:
    failed = [r for r in results if not r.passed]
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    # Failing conversations first: they are what the reader came for.
    sections = "".join(_conversation_section(r) for r in failed + [r for r in results if r.passed])
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test conversations</title>'
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head>"
            f"<body><h1>Test conversations, {html.escape(when)}</h1>"
            f'<p class="summary">{len(results) - len(failed)} of {len(results)} conversations passed'
            f"{f', {len(failed)} failed' if failed else ''}.</p>{sections}</body></html>")
    path.write_text(page, encoding="utf-8")


def write_junit(results: List[ConversationResult], path: Path) -> None:
    """One <testsuite> per file, one <testcase> per conversation, each failing turn in its <failure>."""
    suites = ElementTree.Element("testsuites", name="test conversations")
    by_file = {}
    for result in results:
        by_file.setdefault(relative_path(result.conversation.source), []).append(result)
    for source, file_results in by_file.items():
        suite = ElementTree.SubElement(
            suites, "testsuite", name=source, tests=str(len(file_results)),
            failures=str(sum(not r.passed and r.error is None for r in file_results)),
            errors=str(sum(r.error is not None for r in file_results)),
            time=f"{sum(r.seconds for r in file_results):.3f}")
        for result in file_results:
            case = ElementTree.SubElement(suite, "testcase", classname=source, name=result.conversation.name,
                                          time=f"{result.seconds:.3f}")
            failing = [(i, t) for i, t in enumerate(result.turns, 1) if not t.passed]
            if result.passed:
                continue
            details = "\n\n".join(
                f"turn {i}: {t.patient}\n  expected: {t.expect.as_dict()}\n  problems: {'; '.join(t.problems)}\n"
                f"  answered: {_actual_text(t)}" for i, t in failing)
            tag = "error" if result.error else "failure"
            element = ElementTree.SubElement(case, tag, message=f"{len(failing)} turn(s) failed: "
                                             + "; ".join(failing[0][1].problems))
            element.text = details
    ElementTree.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
