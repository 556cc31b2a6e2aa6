"""How well the served assistant understands patients, per language, on the held-out sets
(bench/heldout.py), through Rasa's /model/parse as the acceptance check asks it: the whole NLU
pipeline, safety layer included.

- textbook and patients' sets: intent accuracy; the patients' set also the procedures found;
- safety set: urgent-symptom recall (escalated), false alarms among the look-alike questions,
  and medicine questions declined (`ask_medical_advice`; escalated counts apart, never answered).

`make bench` parses in its own process with each trained model (`model_parser`), so models
trained on other pipelines are measured the same way.

`python -m bench.understanding [--url URL] [--show-misses]` prints the figures for the current model
(starting the assistant when no URL is given); `make bench` puts them in its report.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional

from bench.heldout import LANGUAGES, Case, patient_cases, safety_cases, textbook_cases
from bot import api_token
from bot.running_assistant import RunningAssistant, http, with_token

URGENT, MEDICINE = "report_red_flag", "ask_medical_advice"
Parse = Callable[[str], dict]


def _intent(parsed: dict) -> str:
    return (parsed.get("intent") or {}).get("name")


def _procedures(parsed: dict) -> set:
    return {e.get("value") for e in parsed.get("entities") or [] if e.get("entity") == "procedure"}


def intent_right(case: Case, parsed: dict) -> bool:
    wanted = case.intent if isinstance(case.intent, list) else [case.intent]
    return _intent(parsed) in wanted


def procedure_right(case: Case, parsed: dict) -> bool:
    if case.procedure == "any":
        return True
    wanted = set(case.procedure) if isinstance(case.procedure, list) else ({case.procedure} if case.procedure else set())
    return _procedures(parsed) == wanted


def _share(hits: int, total: int) -> float:
    return round(hits / total, 3) if total else float("nan")


def measure_language(parse: Parse, language: str) -> Dict[str, object]:
    misses: List[dict] = []

    def score(cases, check, kind):
        hits = 0
        for case in cases:
            parsed = parse(case.text)
            if check(case, parsed):
                hits += 1
            else:
                misses.append({"set": kind, "text": case.text, "want": [case.intent, case.procedure],
                               "got": [_intent(parsed), sorted(_procedures(parsed))]})
        return _share(hits, len(cases)), len(cases)

    textbook, n_textbook = score(textbook_cases(language), intent_right, "textbook")
    patients = patient_cases(language)
    patients_intent, n_patients = score(patients, intent_right, "patients intent")
    patients_procedure, _ = score(patients, procedure_right, "patients procedure")
    safety = safety_cases(language)
    urgent_hits = [_intent(parse(t)) == URGENT for t in safety["urgent"]]
    false_alarms = [_intent(parse(c.text)) == URGENT for c in safety["not_urgent"]]
    medicine = [_intent(parse(t)) for t in safety["medicine"]]
    misses += [{"set": "urgent missed", "text": t} for t, hit in zip(safety["urgent"], urgent_hits) if not hit]
    misses += [{"set": "false alarm", "text": c.text} for c, alarm in zip(safety["not_urgent"], false_alarms) if alarm]
    misses += [{"set": "medicine not declined", "text": t, "got": i}
               for t, i in zip(safety["medicine"], medicine) if i not in {MEDICINE, URGENT}]
    return {
        "textbook_intent": textbook, "textbook_n": n_textbook,
        "patients_intent": patients_intent, "patients_procedure": patients_procedure, "patients_n": n_patients,
        "urgent_recall": _share(sum(urgent_hits), len(urgent_hits)), "urgent_n": len(urgent_hits),
        "false_alarm_rate": _share(sum(false_alarms), len(false_alarms)), "not_urgent_n": len(false_alarms),
        "medicine_declined": _share(sum(i == MEDICINE for i in medicine), len(medicine)),
        "medicine_escalated": sum(i == URGENT for i in medicine),
        "medicine_answered": sum(i not in {MEDICINE, URGENT} for i in medicine), "medicine_n": len(medicine),
        "misses": misses,
    }


def measure(parse: Parse) -> Dict[str, Dict[str, object]]:
    return {language: measure_language(parse, language) for language in LANGUAGES}


def http_parser(url: str, token: Optional[str] = None) -> Parse:
    parse_url = with_token(url.rstrip("/") + "/model/parse", token)

    def parse(text: str) -> dict:
        status, body = http("POST", parse_url, {"text": text})
        if status != 200:
            raise RuntimeError(f"/model/parse answered {status}: {body}")
        return body
    return parse


def model_parser(model: Path) -> Parse:
    """Parses in this process with a trained model (an NLU-only one too), as /model/parse does."""
    import asyncio
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Unconfigured, Rasa's structlog prints every parsed message: held-out texts must not scroll by.
    configure_structlog(logging.WARNING)
    loop = asyncio.new_event_loop()
    agent = Agent.load(str(model))

    def parse(text: str) -> dict:
        return loop.run_until_complete(agent.parse_message(text))
    return parse


def table(results: Dict[str, Dict[str, object]]) -> List[str]:
    """The report's rows: one per figure, one column per language, and the target."""
    rows = [
        ("intent, textbook held-out (tests/data/nlu_heldout)", "textbook_intent", "≥ 0.97"),
        ("intent, patients' held-out (tests/data/patients_heldout)", "patients_intent", "≥ 0.97"),
        ("procedure, patients' held-out", "patients_procedure", "≥ 0.97"),
        ("urgent-symptom recall (tests/data/safety_heldout)", "urgent_recall", "1.00"),
        ("false alarms among look-alike questions", "false_alarm_rate", "≤ 0.05"),
        ("medicine questions declined", "medicine_declined", "1.00"),
        ("medicine questions answered otherwise (count)", "medicine_answered", "0"),
    ]
    lines = ["| | " + " | ".join(LANGUAGES) + " | target |", "|---|" + "---|" * (len(LANGUAGES) + 1)]
    for label, key, target in rows:
        cells = [f"{results[l][key]:.3f}" if isinstance(results[l][key], float) else str(results[l][key]) for l in LANGUAGES]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    sizes = ", ".join(f"{l}: {results[l]['textbook_n']} / {results[l]['patients_n']} / {results[l]['urgent_n']} urgent, "
                      f"{results[l]['not_urgent_n']} look-alike, {results[l]['medicine_n']} medicine" for l in LANGUAGES)
    return lines + ["", f"Set sizes (textbook / patients / safety): {sizes}."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="a running assistant; by default one is started with models/spine.tar.gz")
    parser.add_argument("--token", default=api_token.stored(),
                        help="the API's token for --url (default $RASA_AUTH_TOKEN, else the one `make run` keeps in var/)")
    parser.add_argument("--json", help="also write every figure and miss to this file")
    # Whoever reads the held-out misses and then changes the data or the lexicons has tuned on them:
    # the figures only stay honest if the misses are shown on purpose, not on every run.
    parser.add_argument("--show-misses", action="store_true",
                        help="print each held-out message that was missed (then have the set rewritten before trusting it again)")
    args = parser.parse_args()
    if args.url:
        results = measure(http_parser(args.url, args.token))
    else:
        assistant = RunningAssistant(Path(tempfile.mkdtemp(prefix="understanding-")))
        try:
            results = measure(http_parser(assistant.url, assistant.token))
        finally:
            assistant.stop()
    print("\n".join(table(results)))
    for language in LANGUAGES if args.show_misses else ():
        for miss in results[language]["misses"]:
            print(language, json.dumps(miss, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
