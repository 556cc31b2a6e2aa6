"""What the hospital's documents cover: procedures x topics x languages, for editors to see gaps."""
from __future__ import annotations

from typing import Any, Dict

from bot.content import COVERAGE, PROCEDURES, TOPICS, default_content, labels
from bot.procedure_names import LANGUAGES, default_dictionary

PREVIEW_CHARS = 90


def coverage_table() -> Dict[str, Any]:
    """One row per procedure and topic; per language, the answer's status and its first words.

    `documented`: the procedure's own documents say it; `general`: they don't, and the answer gives
    the general MISS facts, labelled as such; `not_covered`: no document says it, and the answer
    says so and points to the care team."""
    content, titles, intent_labels = default_content(), default_dictionary(), labels()["intents"]
    rows = []
    for procedure in PROCEDURES:
        for topic in TOPICS:
            answers = {language: content.answer(procedure, topic, language) for language in LANGUAGES}
            first = answers[LANGUAGES[0]]
            rows.append({
                "procedure": procedure, "procedure_title": titles.title(procedure, "en"),
                "topic": topic, "topic_label": intent_labels.get(f"ask_{topic}", {}).get("en", topic),
                "coverage": first.coverage, "sources": list(first.sources),
                "languages": {language: {"status": answer.coverage, "preview": answer.text[:PREVIEW_CHARS]}
                              for language, answer in answers.items()},
            })
    totals = {status: sum(row["coverage"] == status for row in rows) for status in COVERAGE}
    return {"languages": list(LANGUAGES), "statuses": list(COVERAGE), "totals": totals, "rows": rows}
