"""The staff console at /staff/ on the web server: try the assistant, review stored conversations,
teach corrections, see the content's coverage.

Every page and API under /staff/ needs a staff login (bot/staff/auth.py) and answers 401 without
one; only the login form's own POST and stylesheet are open. APIs take and give JSON, and POSTs
must be JSON, so another site's form cannot post to them with a staff member's cookie. Patients'
data is masked unless a staff member asks otherwise, and every opening of a stored conversation
is written to the access log.
"""
from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Awaitable, Callable, Dict, FrozenSet, Optional

from aiohttp import web

from bot.content import PROCEDURES, labels
from bot.procedure_names import LANGUAGES, default_dictionary
from bot.staff.access_log import AccessLog
from bot.staff.auth import ENV_VAR, REVIEWER, StaffAuth
from bot.staff.conversation_tests import AssistantClient, AssistantUnavailable
from bot.staff.coverage import coverage_table
from bot.staff.events import turns_from_rows
from bot.staff.pseudonym import pseudonym
from bot.staff.queries import STAFF_SENDER_PREFIX
from bot.staff.store import ConversationNotFound, ConversationStore, InvalidQuery
from bot.staff.teach import (
    CorrectionRefused, Corrections, InvalidCorrection, conversation_as_test, save_test, teachable_intents,
)

logger = logging.getLogger(__name__)

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "web" / "staff"
PREFIX = "/staff/"
COOKIE = "staff_session"
TRY_PREFIX = STAFF_SENDER_PREFIX + "try-"  # the console's own conversations, left out of Review
MAX_JSON_BYTES = 16 * 1024
MAX_MESSAGE_CHARS = 2000
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_.:@+-]{1,255}$")
LIST_FILTERS = ("language", "procedure", "date_from", "date_to", "handoff", "red_flag", "fallback",
                "low_confidence", "include_staff")


@dataclass
class ConsoleSettings:
    auth: StaffAuth
    store: ConversationStore
    assistant: AssistantClient  # Rasa as the web server reaches it (for "Try it")
    corrections: Corrections
    saved_tests_dir: Path
    access_log: AccessLog
    trusted_proxies: FrozenSet[str] = frozenset()  # STAFF_TRUSTED_PROXIES: whose X-Forwarded-For to believe


SETTINGS = web.AppKey("staff_settings", ConsoleSettings)
USER = "staff_user"  # request keys: the logged-in staff member and their role
ROLE = "staff_role"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _login_page(status: int, notice: str = "", enabled: bool = True) -> web.Response:
    page = (CONSOLE_DIR / "login.html").read_text(encoding="utf-8")
    if not enabled:
        notice = (f"The staff console is off. To turn it on, set {ENV_VAR} to name:password pairs "
                  "and restart the web server.")
    notice_html = f'<p class="notice" role="alert">{html.escape(notice)}</p>' if notice else ""
    return web.Response(text=page.replace("{{notice}}", notice_html), status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


def _client_address(request: web.Request) -> str:
    """The client's address: the connection's, or behind a trusted proxy the one it forwarded.

    X-Forwarded-For is read only from a proxy in STAFF_TRUSTED_PROXIES, right to left, skipping
    trusted proxies: anyone can send the header, so its left end is whatever a client wrote."""
    trusted = request.app[SETTINGS].trusted_proxies
    address = request.remote or "unknown"
    if address not in trusted:
        return address
    forwarded = [hop.strip() for header in request.headers.getall("X-Forwarded-For", [])
                 for hop in header.split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if hop not in trusted:
            return hop
    return address


def _require_reviewer(request: web.Request, what: str) -> None:
    """403 for a viewer: only a reviewer may unmask, correct, export or erase."""
    if request[ROLE] != REVIEWER:
        raise web.HTTPForbidden(text=json.dumps({"error": f"Only a reviewer may {what}."}),
                                content_type="application/json")


@web.middleware
async def require_staff(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """401 for every console page and API without a valid session; no-store on everything."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    settings = request.app[SETTINGS]
    if request.path in (PREFIX + "login", PREFIX + "login.css"):
        return await handler(request)
    staff_session = settings.auth.session_of(request.cookies.get(COOKIE))
    if staff_session is None:
        if request.path.startswith(PREFIX + "api/") or request.method != "GET":
            return _error(401, "Log in to the staff console first.")
        return _login_page(401, enabled=settings.auth.enabled)
    if request.method == "POST" and request.content_type != "application/json":
        return _error(415, "Send JSON (Content-Type: application/json).")
    request[USER], request[ROLE] = staff_session.user, staff_session.role
    response = await handler(request)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _json_body(request: web.Request) -> Dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_JSON_BYTES, actual_size=request.content_length)
    raw = await request.content.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidQuery(f"the request body is larger than {MAX_JSON_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidQuery("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidQuery("the request body must be a JSON object")
    return body


def _conversation_id(request: web.Request) -> str:
    """The stored id of the conversation named in the path, masked or not."""
    return _stored_id(request, request.match_info["conversation"])


def _stored_id(request: web.Request, conversation: Any) -> str:
    """The stored id of a conversation named by its id or by its masked id."""
    if not isinstance(conversation, str) or not CONVERSATION_ID.match(conversation):
        raise InvalidQuery("the conversation id has characters or a length no conversation id has")
    return request.app[SETTINGS].store.resolve(conversation)


def _mask(request: web.Request) -> bool:
    value = request.query.get("mask", "true").lower()
    if value not in ("true", "false", "1", "0"):
        raise InvalidQuery("mask must be true or false")
    if value in ("false", "0"):
        _require_reviewer(request, "see patients' data unmasked")
    return value in ("true", "1")


@web.middleware
async def explain_errors(request: web.Request, handler):
    """Bad parameters get a 4xx that says what is wrong; the console never answers 500 for them."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except (InvalidQuery, InvalidCorrection) as error:
        return _error(400, str(error))
    except ConversationNotFound:
        return _error(404, "There is no stored conversation with this id.")
    except CorrectionRefused as error:
        return _error(409, str(error))
    except AssistantUnavailable as error:
        return _error(502, f"The assistant did not answer: {error}")


async def log_in(request: web.Request) -> web.Response:
    """A login, counted against the client before its body is read and against the account before
    its password is checked: parallel attempts cannot outrun the limit (bot/staff/auth.py)."""
    settings = request.app[SETTINGS]
    if not settings.auth.enabled:
        return _login_page(401, enabled=False)
    too_many = "Too many failed logins. Wait five minutes and try again."
    address = _client_address(request)
    limiter = settings.auth.limiter
    client_mark = limiter.try_count("client " + address)
    if client_mark is None:
        return _login_page(429, too_many)
    form = await request.post()
    name, password = str(form.get("user", ""))[:64], str(form.get("password", ""))[:1024]
    account_mark = limiter.try_count("account " + name)
    if account_mark is None:
        logger.warning("Staff login refused for %r from %s: too many failures", name, address)
        return _login_page(429, too_many)
    if not await asyncio.to_thread(settings.auth.password_is_right, name, password):
        logger.warning("Staff login failed for %r from %s", name, address)
        return _login_page(401, "Wrong name or password.")
    limiter.take_back("client " + address, client_mark)
    limiter.take_back("account " + name, account_mark)
    token = settings.auth.start_session(name, address)
    response = web.HTTPSeeOther("/staff/")
    secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
    response.set_cookie(COOKIE, token, path="/staff/", httponly=True, samesite="Strict", secure=secure)
    return response


async def log_out(request: web.Request) -> web.Response:
    request.app[SETTINGS].auth.log_out(request.cookies.get(COOKIE))
    response = web.json_response({"logged_out": True})
    response.del_cookie(COOKIE, path="/staff/")
    return response


async def console_page(request: web.Request) -> web.Response:
    return web.FileResponse(CONSOLE_DIR / "index.html", headers={"Content-Type": "text/html; charset=utf-8"})


def static_file(name: str, content_type: str):
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(CONSOLE_DIR / name, headers={"Content-Type": content_type})
    return serve


async def session(request: web.Request) -> web.Response:
    return web.json_response({"user": request[USER], "role": request[ROLE]})


async def options(request: web.Request) -> web.Response:
    titles = default_dictionary()
    intent_labels = labels()["intents"]
    return web.json_response({
        "languages": list(LANGUAGES),
        "intents": [{"name": i, "label": intent_labels.get(i, {}).get("en", i)} for i in teachable_intents()],
        "procedures": [{"id": p, "title": titles.title(p, "en")} for p in PROCEDURES],
    })


def _rows(events):
    """Tracker events from Rasa's HTTP API as the rows bot/staff/events.py reads from the database."""
    return [SimpleNamespace(id=i, type_name=e.get("event"), timestamp=e.get("timestamp"), data=json.dumps(e))
            for i, e in enumerate(events)]


async def try_message(request: web.Request) -> web.Response:
    """One message to the assistant as a patient would send it, with what the assistant made of it."""
    settings = request.app[SETTINGS]
    body = await _json_body(request)
    message = body.get("message")
    if not isinstance(message, str) or not message.strip() or len(message) > MAX_MESSAGE_CHARS:
        raise InvalidQuery(f"message must be text of 1 to {MAX_MESSAGE_CHARS} characters")
    conversation = body.get("conversation") or uuid.uuid4().hex[:12]
    if not isinstance(conversation, str) or not re.fullmatch(r"[A-Za-z0-9]{1,32}", conversation):
        raise InvalidQuery("conversation must be 1 to 32 letters or digits")
    sender = f"{TRY_PREFIX}{request[USER]}-{conversation}"
    messages, tracker = await asyncio.to_thread(settings.assistant.exchange, sender, message)
    events = tracker.get("events") or []
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=0)
    turns = turns_from_rows(_rows(events[last_user:]), users_before=0, mask=False)
    turn = turns[-1] if turns else {}
    return web.json_response({
        "conversation": conversation,
        "answers": [{"text": m.get("text"), "buttons": [b.get("title") for b in m.get("buttons") or []]}
                    for m in messages],
        "patient": turn.get("patient"),
        "actions": turn.get("actions", []),
        "slots_set": turn.get("slots", {}),
        "slots": tracker.get("slots") or {},
    })


async def list_conversations(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    unknown = set(request.query) - set(LIST_FILTERS) - {"page", "page_size", "mask"}
    if unknown:
        raise InvalidQuery(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    filters = {name: request.query[name] for name in LIST_FILTERS if request.query.get(name, "") != ""}
    mask = _mask(request)
    listing = await asyncio.to_thread(
        settings.store.list_conversations, **filters, page=request.query.get("page", 1),
        page_size=request.query.get("page_size", 20), mask=mask)
    if not mask:
        for shown in listing["conversations"]:
            settings.access_log.record(request[USER], "listed unmasked", shown["id"], _client_address(request))
    return web.json_response(listing)


async def show_conversation(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    conversation_id, mask = _conversation_id(request), _mask(request)
    conversation = await asyncio.to_thread(
        settings.store.conversation, conversation_id, offset=request.query.get("offset", 0),
        limit=request.query.get("limit", 50), mask=mask)
    settings.access_log.record(request[USER], "read" if mask else "read unmasked", conversation_id,
                               _client_address(request))
    return web.json_response(conversation)


async def _whole_conversation(settings: ConsoleSettings, conversation_id: str) -> Dict[str, Any]:
    # A saved test keeps at most the first 200 turns: longer conversations are not useful as tests.
    return await asyncio.to_thread(settings.store.conversation, conversation_id, offset=0, limit=200, mask=True)


async def conversation_test_yaml(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    _require_reviewer(request, "export a conversation")
    conversation_id = _conversation_id(request)
    text = conversation_as_test(await _whole_conversation(settings, conversation_id), request[USER])
    settings.access_log.record(request[USER], "export as test", conversation_id, _client_address(request))
    return web.Response(text=text, content_type="application/yaml", headers={
        "Content-Disposition": f'attachment; filename="{pseudonym(conversation_id)}.yml"'})


async def export_for_the_patient(request: web.Request) -> web.Response:
    """Everything stored of one conversation, for the patient who asked for their data (reviewers only)."""
    settings = request.app[SETTINGS]
    _require_reviewer(request, "export a patient's data")
    conversation_id = _conversation_id(request)
    exported = await asyncio.to_thread(settings.store.export, conversation_id)
    settings.access_log.record(request[USER], "export for the patient", conversation_id, _client_address(request))
    return web.json_response(exported, dumps=lambda data: json.dumps(data, ensure_ascii=False), headers={
        "Content-Disposition": f'attachment; filename="{pseudonym(conversation_id)}.json"'})


async def erase_conversation(request: web.Request) -> web.Response:
    """Erases one conversation for good (reviewers only, with {"confirm": true}): from the tracker store,
    through the running assistant so that no copy stays in its memory, and from the access log. The
    erasure itself is logged under the conversation's pseudonym, which cannot be turned back into it."""
    settings = request.app[SETTINGS]
    _require_reviewer(request, "erase a conversation")
    conversation_id = _conversation_id(request)
    if (await _json_body(request)).get("confirm") is not True:
        raise InvalidQuery('erasing cannot be undone: send {"confirm": true}')
    await asyncio.to_thread(settings.store.conversation, conversation_id, limit=1)  # 404 for an unknown id
    erased = await asyncio.to_thread(settings.assistant.erase, conversation_id)
    await asyncio.to_thread(settings.access_log.forget, conversation_id)
    settings.access_log.record(request[USER], "erase", pseudonym(conversation_id), _client_address(request))
    return web.json_response({"erased": erased, "conversation": pseudonym(conversation_id)})


async def save_conversation_as_test(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    _require_reviewer(request, "save a conversation as a test")
    conversation_id = _conversation_id(request)
    path = save_test(await _whole_conversation(settings, conversation_id), request[USER], settings.saved_tests_dir)
    settings.access_log.record(request[USER], "save as test", conversation_id, _client_address(request))
    return web.json_response({"saved": path.name, "yaml": path.read_text(encoding="utf-8")}, status=201)


async def add_correction(request: web.Request) -> web.Response:
    """Teach: the patient's message of one turn of a stored conversation, with the right intent."""
    settings = request.app[SETTINGS]
    _require_reviewer(request, "correct what the assistant understood")
    body = await _json_body(request)
    conversation_id, turn_index = _stored_id(request, body.get("conversation")), body.get("turn")
    if not isinstance(turn_index, int) or isinstance(turn_index, bool) or turn_index < 1:
        raise InvalidQuery("turn must be the number of the patient's message (1, 2, ...)")
    intent, procedure = body.get("intent"), body.get("procedure") or None
    if not isinstance(intent, str):
        raise InvalidQuery("intent must be one of the intents the console offers")
    # The text comes from the store, never from the browser: only what a patient said can be taught.
    page = await asyncio.to_thread(settings.store.conversation, conversation_id, offset=turn_index - 1, limit=2,
                                   mask=True)
    turn = next((t for t in page["turns"] if t["index"] == turn_index and t.get("patient")), None)
    if turn is None or not turn["patient"].get("text"):
        raise InvalidQuery(f"turn {turn_index} of this conversation has no patient message")
    correction = await asyncio.to_thread(
        settings.corrections.add, turn["patient"]["text"], intent, procedure, request[USER], conversation_id,
        turn["patient"].get("language"))
    settings.access_log.record(request[USER], "correct", conversation_id, _client_address(request))
    return web.json_response(correction.__dict__, status=201)


async def list_corrections(request: web.Request) -> web.Response:
    corrections = await asyncio.to_thread(request.app[SETTINGS].corrections.all)
    return web.json_response({"corrections": [c.__dict__ for c in corrections]})


async def remove_correction(request: web.Request) -> web.Response:
    _require_reviewer(request, "remove a correction")
    body = await _json_body(request)
    text, language = body.get("text"), body.get("language")
    if not isinstance(text, str) or not isinstance(language, str):
        raise InvalidQuery("text and language of the correction are required")
    removed = await asyncio.to_thread(request.app[SETTINGS].corrections.remove, text, language)
    return web.json_response({"removed": removed}, status=200 if removed else 404)


async def export_corrections(request: web.Request) -> web.Response:
    _require_reviewer(request, "export the corrections")
    language = request.query.get("language") or None
    if language is not None and language not in LANGUAGES:
        raise InvalidQuery(f"language must be one of {', '.join(LANGUAGES)}")
    text = await asyncio.to_thread(request.app[SETTINGS].corrections.export, language)
    return web.Response(text=text, content_type="application/yaml",
                        headers={"Content-Disposition": 'attachment; filename="corrections.yml"'})


async def coverage(request: web.Request) -> web.Response:
    return web.json_response(coverage_table())


def add_console(app: web.Application, settings: ConsoleSettings) -> None:
    """Adds the console's routes under /staff/ to the web server's application, with the login check.

    The routes go on the main application rather than a sub-application: aiohttp 3.9 with the yarl
    Rasa's pins bring fails to resolve sub-application prefixes when the Host header has a port."""
    app[SETTINGS] = settings
    app.middlewares.extend([require_staff, explain_errors])
    routes = [
        web.get("", console_page),
        web.post("login", log_in),
        web.get("login.css", static_file("login.css", "text/css; charset=utf-8")),
        web.post("logout", log_out),
        web.get("console.js", static_file("console.js", "text/javascript; charset=utf-8")),
        web.get("console.css", static_file("console.css", "text/css; charset=utf-8")),
        web.get("api/session", session),
        web.get("api/options", options),
        web.post("api/try", try_message),
        web.get("api/conversations", list_conversations),
        web.get("api/conversations/{conversation}", show_conversation),
        web.get("api/conversations/{conversation}/test.yml", conversation_test_yaml),
        web.get("api/conversations/{conversation}/export.json", export_for_the_patient),
        web.post("api/conversations/{conversation}/erase", erase_conversation),
        web.post("api/conversations/{conversation}/save-test", save_conversation_as_test),
        web.get("api/corrections", list_corrections),
        web.post("api/corrections", add_correction),
        web.post("api/corrections/remove", remove_correction),
        web.get("api/corrections.yml", export_corrections),
        web.get("api/coverage", coverage),
    ]
    app.add_routes([web.RouteDef(r.method, PREFIX + r.path, r.handler, r.kwargs) for r in routes])
