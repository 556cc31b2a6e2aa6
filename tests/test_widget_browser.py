"""The website chat widget in a real browser: Debian's Chromium, driven by Playwright, on the demo
hospital page that `make run` serves (bot/web_server.py), talking to the trained assistant over
Rasa's socket.io channel. The screenshots in docs/screenshots/ are written by these tests.

The web server's own behaviour (headers, a missing socket.io-client) is tested first, without a
browser or the assistant.
"""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.content import PROCEDURES, default_content
from bot.language import detect_language
from bot.procedure_names import default_dictionary
from bot.web_server import content_security_policy, create_app, demo_page
from tests.helpers import needs_chromium, stored_user_texts, web_conversation
from bot.running_assistant import PROJECT_ROOT, free_port, http

SOCKET_IO_CLIENT = PROJECT_ROOT / "web" / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
HOST = "#spine-chat-widget"  # the element whose shadow root holds the widget
ANSWER_TIMEOUT_MS = 60_000

# ---------------------------------------------------------------- the web server, without a browser

async def _get_all(app, paths):
    from aiohttp.test_utils import TestClient, TestServer

    async with TestClient(TestServer(app)) as client:
        answers = {}
        for path in paths:
            response = await client.get(path)
            answers[path] = (response.status, response.headers, await response.text())
        return answers


def get_all(app, paths):
    """{path: (status, headers, text)} from the app served on a loopback port."""
    return asyncio.run(_get_all(app, paths))


def test_every_response_carries_the_security_headers():
    rasa_url = "https://chat.hospital.example:5005"
    answers = get_all(create_app(rasa_url), ["/", "/widget/widget.js", "/widget/widget.css",
                                             "/widget/vendor/socket.io.min.js", "/no-such-page"])
    for path, (status, headers, _) in answers.items():
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "object-src 'none'" in csp, path
        connect = re.search(r"connect-src ([^;]+)", csp).group(1).split()
        assert connect == ["'self'", "https://chat.hospital.example:5005", "wss://chat.hospital.example:5005"], path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
    assert answers["/no-such-page"][0] == 404
    status, headers, page = answers["/"]
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert 'src="/widget/widget.js"' in page and 'data-server-url="https://chat.hospital.example:5005"' in page
    # The widget's Thai, Korean and Chinese strings must be decoded as UTF-8 on any hospital page.
    assert answers["/widget/widget.js"][1]["Content-Type"] == "text/javascript; charset=utf-8"
    assert answers["/widget/widget.js"][1]["Cross-Origin-Resource-Policy"] == "cross-origin"
    if SOCKET_IO_CLIENT.exists():
        status, headers, script = answers["/widget/vendor/socket.io.min.js"]
        assert status == 200 and headers["Content-Type"].startswith("text/javascript") and "Socket.IO" in script


def test_the_rasa_url_is_escaped_into_the_demo_page():
    page = demo_page(PROJECT_ROOT / "web" / "demo" / "index.html", 'http://h:1/"><script>alert(1)</script>', False)
    assert "<script>alert(1)" not in page and "&quot;&gt;&lt;script&gt;" in page


def test_a_missing_socket_io_client_is_explained_not_hidden(tmp_path):
    web_dir = tmp_path / "web"  # the project's web/ without `npm ci`
    for part in ("demo", "widget"):
        shutil.copytree(PROJECT_ROOT / "web" / part, web_dir / part)
    answers = get_all(create_app("http://127.0.0.1:5005", web_dir), ["/", "/health", "/widget/vendor/socket.io.min.js"])
    assert "npm ci --prefix web" in answers["/"][2] and 'role="alert"' in answers["/"][2]
    assert answers["/health"][0] == 503 and json.loads(answers["/health"][2])["widget"] == "missing socket.io-client"
    status, _, text = answers["/widget/vendor/socket.io.min.js"]
    assert status == 503 and "npm ci --prefix web" in text


@pytest.mark.parametrize("rasa_url", ["javascript:alert(1)", "ftp://127.0.0.1", "127.0.0.1:5005"])
def test_the_command_line_refuses_a_rasa_url_browsers_cannot_use(rasa_url):
    run = subprocess.run([sys.executable, "-m", "bot.web_server", "--rasa-url", rasa_url], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "http:// or https://" in run.stderr


def test_the_policy_lets_the_page_reach_rasa_over_websocket_only_there():
    assert "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005;" in content_security_policy(
        "http://127.0.0.1:5005/some/prefix")


# ---------------------------------------------------------------- servers for the browser tests

class WebServer:
    """`python -m bot.web_server`, as `make run` starts it, on a free loopback port."""

    def __init__(self, rasa_url: str, log_path: Path):
        if not SOCKET_IO_CLIENT.exists():
            pytest.fail(f"{SOCKET_IO_CLIENT} is missing: run `npm ci --prefix web` (the Makefile's install step does)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.web_server", "--host", "127.0.0.1", "--port", str(self.port),
             "--staff-port", str(free_port()), "--rasa-url", rasa_url], cwd=PROJECT_ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the web server exited early; see {log_path}")
            try:
                if http("GET", self.url + "/health", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the web server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


class TcpRelay:
    """A loopback TCP relay between the browser and Rasa that a test can cut and restore: a real
    dropped connection, as when a patient's phone loses the network."""

    def __init__(self, target_port: int):
        self.port = free_port()
        self.target_port = target_port
        self._connections = set()
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._thread = None
        self.restore()

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listening.set()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def cut(self):
        """Stops accepting connections (the port refuses them) and drops the open ones."""
        self._listening.clear()
        self._thread.join()  # the accept loop has closed the listener
        with self._lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()
            self._connections.clear()

    def _accept(self, listener):
        with listener:
            while self._listening.is_set():
                try:
                    client, _ = listener.accept()
                except socket.timeout:
                    continue
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.target_port))
                except OSError:
                    client.close()
                    continue
                with self._lock:
                    self._connections |= {client, upstream}
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture(scope="module")
def web_server(assistant, tmp_path_factory):
    server = WebServer(assistant.url, tmp_path_factory.mktemp("web") / "web_server.log")
    yield server
    server.stop()


DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@contextmanager
def open_page(browser, locale="en-US", device=DESKTOP):
    """A fresh browser profile (empty localStorage) with the given language; fails on script errors."""
    context = browser.new_context(locale=locale, **device)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    try:
        yield page
    finally:
        context.close()
    assert not problems, problems


class Chat:
    """The widget on a page, seen the way a patient uses it."""

    def __init__(self, page):
        self.page = page
        self.launcher = page.locator(".launcher")
        self.panel = page.locator(".panel")
        self.title = page.locator(".header__title")
        self.input = page.locator(".composer__input")
        self.send_button = page.locator(".composer__send")
        self.typing = page.locator(".typing")
        self.status = page.locator(".status")
        self.bot_messages = page.locator(".msg--bot:not(.msg--welcome)")
        self.patient_messages = page.locator(".msg--patient")

    def open(self):
        self.launcher.click()
        self.panel.wait_for(state="visible")

    def bot_texts(self):
        return self.bot_messages.locator(".msg__body").all_inner_texts()

    def send(self, text):
        """Types and sends a message; the bot's answers to it."""
        before = self.bot_messages.count()
        self.input.fill(text)
        self.send_button.click()
        return self.answers_after(before)

    def answers_after(self, before):
        """Waits until the bot has answered (new messages, typing indicator gone); their texts."""
        self.page.wait_for_function(
            "([host, n]) => document.querySelector(host).shadowRoot"
            ".querySelectorAll('.msg--bot:not(.msg--welcome)').length > n",
            arg=[HOST, before], timeout=ANSWER_TIMEOUT_MS)
        self.typing.wait_for(state="hidden", timeout=ANSWER_TIMEOUT_MS)
        return self.bot_texts()[before:]

    def session_id(self):
        return self.page.evaluate(
            "() => Object.keys(localStorage).filter(k => k.startsWith('spine-chat:'))"
            ".map(k => JSON.parse(localStorage.getItem(k)).sessionId)[0]")

    def conversation(self):
        """The conversation id the server keeps this page's messages under."""
        return web_conversation(self.session_id())

    def active_element(self):
        """What has keyboard focus: the widget's element (its id or class) or the page's."""
        return self.page.evaluate(
            "(host) => { const inner = document.querySelector(host).shadowRoot.activeElement;"
            " const el = inner || document.activeElement;"
            " return el ? (el.id || el.className || el.tagName) : null; }", HOST)


def squeeze(text):
    """Text without whitespace and bullet marks: the widget shows bullets as a list."""
    return re.sub(r"[\s•]+", "", text)


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def main_font(page, selector):
    """The font Chromium actually drew most of the element's text with (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
    found = cdp.send("Runtime.evaluate", {
        "expression": f"document.querySelector({json.dumps(HOST)}).shadowRoot.querySelector({json.dumps(selector)})"})
    node_id = cdp.send("DOM.requestNode", {"objectId": found["result"]["objectId"]})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node_id})["fonts"]
    cdp.detach()
    return max(fonts, key=lambda font: font["glyphCount"])["familyName"]


# Fonts that draw each script, from the widget's font stack (web/widget/widget.css). Han must come
# out of a Chinese face in Chinese text and a Korean face in Korean text.
SCRIPT_FONTS = {
    "th": {"Noto Sans Thai", "Leelawadee UI", "Thonburi", "Sukhumvit Set", "Loma", "Garuda", "Waree"},
    "ko": {"Noto Sans CJK KR", "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic"},
    "zh": {"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei"},
}

QUESTIONS = [
    ("th", "th-TH", "ไมโครดิสเอกโตมีมีความเสี่ยงอะไรบ้างคะ", "microdiscectomy", "risks"),
    ("ko", "ko-KR", "미세 후궁절제술 후 회복은 얼마나 걸리나요?", "microlaminectomy", "recovery"),
    ("en", "en-GB", "What is an endoscopic discectomy?", "endoscopic_discectomy", "overview"),
    ("zh", "zh-CN", "脊柱微创手术适合哪些疾病", "miss", "indications"),
]


# ---------------------------------------------------------------- in the browser

@needs_chromium
@pytest.mark.parametrize("language,locale,question,procedure,topic", QUESTIONS, ids=[q[0] for q in QUESTIONS])
def test_a_question_in_each_language_is_answered_in_that_language(
        browser, web_server, language, locale, question, procedure, topic):
    with open_page(browser, locale) as page:
        page.goto(web_server.url)
        chat = Chat(page)
        chat.open()
        # The interface follows the browser's language.
        assert chat.panel.get_attribute("lang") == language
        assert detect_language(chat.title.inner_text()) == language
        answer = "\n".join(chat.send(question))
        assert detect_language(answer) == language
        assert squeeze(default_content().answer(procedure, topic, language).text) in squeeze(answer)
        if language in SCRIPT_FONTS:
            assert main_font(page, ".msg--bot:not(.msg--welcome) .para") in SCRIPT_FONTS[language]
        screenshot(page, f"widget-desktop-{language}.png")


@needs_chromium
@pytest.mark.parametrize("language,locale,question,procedure,topic",
                         [q for q in QUESTIONS if q[0] in ("th", "zh")], ids=["th", "zh"])
def test_on_a_phone_the_chat_fills_the_screen_and_nothing_overflows(
        browser, web_server, language, locale, question, procedure, topic):
    with open_page(browser, locale, PHONE) as page:
        page.goto(web_server.url)
        chat = Chat(page)
        chat.launcher.tap()
        chat.panel.wait_for(state="visible")
        box = chat.panel.bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
        assert not chat.launcher.is_visible()  # the close button in the header takes its place
        answer = "\n".join(chat.send(question))
        assert squeeze(default_content().answer(procedure, topic, language).text) in squeeze(answer)
        overflow = page.evaluate(
            "(host) => { const log = document.querySelector(host).shadowRoot.querySelector('.log');"
            " return log.scrollWidth - log.clientWidth; }", HOST)
        assert overflow <= 0
        screenshot(page, f"widget-phone-{language}.png")


@needs_chromium
def test_a_quick_reply_sends_its_payload_and_the_answer_follows(browser, web_server, assistant):
    with open_page(browser, "en-US") as page:
        page.goto(web_server.url)
        chat = Chat(page)
        chat.open()
        chat.send("What are the risks?")  # no procedure named: the bot asks which one, with buttons
        buttons = chat.bot_messages.nth(chat.bot_messages.count() - 1).locator(".quick-reply")
        titles = [default_dictionary().title(p, "en") for p in PROCEDURES]
        assert buttons.all_inner_texts() == titles
        screenshot(page, "widget-quick-replies.png")

        before = chat.bot_messages.count()
        buttons.nth(0).click()
        answer = "\n".join(chat.answers_after(before))
        assert squeeze(default_content().answer(PROCEDURES[0], "risks", "en").text) in squeeze(answer)
        # The patient sees the title they chose; the set is used up; the bot got the payload.
        assert chat.patient_messages.last.locator(".msg__body").inner_text() == titles[0]
        assert all(button.is_disabled() for button in buttons.all())
        assert "quick-reply--chosen" in buttons.nth(0).get_attribute("class")
        assert stored_user_texts(assistant.tracker_db, chat.conversation()) == [
            "What are the risks?", f'/ask_risks{{"procedure": "{PROCEDURES[0]}"}}']


@needs_chromium
def test_a_reload_keeps_the_history_and_continues_the_same_conversation(browser, web_server, assistant):
    question = "ผ่าตัดแล้วต้องพักฟื้นกี่วันคะ"  # recovery, no procedure: answered with buttons
    with open_page(browser, "th-TH") as page:
        page.goto(web_server.url)
        chat = Chat(page)
        chat.open()
        chat.send(question)
        history = page.locator(".msg").all_inner_texts()
        session_id = chat.session_id()
        assert session_id

        page.reload()
        chat.panel.wait_for(state="visible")  # it was open, so it opens again
        assert page.locator(".msg").all_inner_texts() == history
        buttons = chat.bot_messages.nth(chat.bot_messages.count() - 1).locator(".quick-reply")
        assert buttons.count() == len(PROCEDURES) and buttons.nth(2).is_enabled()

        before = chat.bot_messages.count()
        buttons.nth(2).click()
        answer = "\n".join(chat.answers_after(before))
        assert squeeze(default_content().answer(PROCEDURES[2], "recovery", "th").text) in squeeze(answer)
        assert chat.session_id() == session_id
        payload = f'/ask_recovery{{"procedure": "{PROCEDURES[2]}"}}'
        # Both turns are in one conversation: the reloaded page went on with the same session id.
        assert stored_user_texts(assistant.tracker_db, web_conversation(session_id)) == [question, payload]


@needs_chromium
def test_markup_in_a_message_or_an_answer_is_shown_as_text_and_never_run(browser, web_server, assistant):
    patient_markup = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    bot_markup = ('<img src=x onerror="window.__xss=3"> **Bold words** [a trap](javascript:window.__xss=4) '
                  "and https://hospital.example/spine.")
    with open_page(browser, "en-US") as page:
        page.goto(web_server.url)
        chat = Chat(page)
        chat.open()
        chat.send(patient_markup)
        assert chat.patient_messages.last.locator(".msg__body").inner_text() == patient_markup

        # A bot answer with markup, sent into this conversation through Rasa's own API and the socket.io channel.
        before = chat.bot_messages.count()
        status, _ = assistant.api("POST", f"/conversations/{chat.conversation()}/tracker/events"
                                 "?output_channel=socketio&execute_side_effects=true",
                         {"event": "bot", "text": bot_markup,
                          "data": {"buttons": [{"title": "<b>not bold</b>", "payload": "/greet"}]}})
        assert status == 200
        page.wait_for_function(
            "([host, n]) => document.querySelector(host).shadowRoot"
            ".querySelectorAll('.msg--bot:not(.msg--welcome)').length > n", arg=[HOST, before])
        shown = chat.bot_messages.last
        text = shown.locator(".msg__body").inner_text()
        assert '<img src=x onerror="window.__xss=3">' in text
        assert "[a trap](javascript:window.__xss=4)" in text
        assert shown.locator("strong").inner_text() == "Bold words"
        links = shown.locator("a")
        assert links.count() == 1
        assert links.get_attribute("href") == "https://hospital.example/spine"
        assert links.get_attribute("target") == "_blank" and links.get_attribute("rel") == "noopener noreferrer"
        assert shown.locator(".quick-reply").inner_text() == "<b>not bold</b>"
        assert page.locator(".log img, .log script, .log b").count() == 0
        assert page.evaluate("() => window.__xss") is None


@needs_chromium
def test_switching_the_language_changes_the_interface_and_the_answers(browser, web_server, assistant):
    with open_page(browser, "en-US") as page:
        page.goto(web_server.url)
        chat = Chat(page)
        chat.open()
        english = {"title": chat.title.inner_text(), "placeholder": chat.input.get_attribute("placeholder"),
                   "staff": page.locator(".staff").inner_text()}
        assert all(detect_language(text) == "en" for text in english.values())

        before = chat.bot_messages.count()
        page.locator(".language").select_option("ko")
        assert detect_language(chat.title.inner_text()) == "ko"
        assert detect_language(chat.input.get_attribute("placeholder")) == "ko"
        assert detect_language(page.locator(".notice").inner_text()) == "ko"
        assert chat.panel.get_attribute("lang") == "ko"
        confirmation = "\n".join(chat.answers_after(before))  # the assistant was told, and says so in Korean
        assert detect_language(confirmation) == "ko"

        before = chat.bot_messages.count()
        page.locator(".staff").click()
        assert detect_language(chat.patient_messages.last.inner_text()) == "ko"
        handoff = "\n".join(chat.answers_after(before))
        assert detect_language(handoff) == "ko"
        slots = assistant.api("GET", f"/conversations/{chat.conversation()}/tracker")[1]["slots"]
        assert slots["language"] == "ko" and slots["handoff_requested"] is True

        page.reload()  # the chosen language outlives the reload
        chat.panel.wait_for(state="visible")
        assert detect_language(chat.title.inner_text()) == "ko"


@needs_chromium
def test_the_widget_works_by_keyboard_and_tells_screen_readers(browser, web_server):
    with open_page(browser, "en-US") as page:
        page.goto(web_server.url)
        chat = Chat(page)
        launcher = page.get_by_role("button", name="Ask about spine surgery")
        assert launcher.get_attribute("aria-expanded") == "false"

        launcher.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Spine surgery assistant")
        dialog.wait_for(state="visible")
        assert launcher.get_attribute("aria-expanded") == "true"
        assert chat.active_element() == "spine-chat-input"  # focus moved into the panel
        assert page.get_by_role("textbox", name="Your message").count() == 1
        outline = page.evaluate(
            "(host) => getComputedStyle(document.querySelector(host).shadowRoot.activeElement).outlineStyle", HOST)
        assert outline != "none"  # the keyboard focus is visible

        # Tab order through the panel: header controls, the history, talk to staff, input, send.
        page.locator(".language").focus()
        order = [chat.active_element()]
        for _ in range(6):
            page.keyboard.press("Tab")
            order.append(chat.active_element())
        assert order == ["spine-chat-language", "spine-chat-new", "spine-chat-close", "log", "staff",
                         "spine-chat-input", "composer__send"]

        log = page.locator(".log")
        assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
        assert page.locator("#spine-chat-notice").is_visible()  # the information-not-advice notice

        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
        assert chat.active_element() == "launcher"  # focus back where it was
        page.keyboard.press("Space")
        dialog.wait_for(state="visible")
        assert chat.active_element() == "spine-chat-input"


@needs_chromium
def test_a_lost_connection_is_shown_and_messages_wait_for_it(browser, assistant, tmp_path):
    relay = TcpRelay(int(assistant.url.rsplit(":", 1)[1]))
    server = WebServer(f"http://127.0.0.1:{relay.port}", tmp_path / "web_server.log")
    try:
        with open_page(browser, "en-US") as page:
            page.goto(server.url)
            chat = Chat(page)
            chat.open()
            chat.send("hello")
            assert chat.status.is_hidden()

            relay.cut()
            chat.status.wait_for(state="visible")
            assert "Connection lost" in chat.status.inner_text()
            before = chat.bot_messages.count()
            question = "What is a microdiscectomy?"
            chat.input.fill(question)
            chat.send_button.click()
            pending = chat.patient_messages.last
            assert pending.locator(".msg__status").inner_text() == "Waiting to send"
            page.wait_for_timeout(1500)
            assert chat.bot_messages.count() == before  # nothing could have been answered

            relay.restore()
            answer = "\n".join(chat.answers_after(before))
            assert squeeze(default_content().answer("microdiscectomy", "overview", "en").text) in squeeze(answer)
            assert chat.status.is_hidden() and pending.locator(".msg__status").is_hidden()
            assert stored_user_texts(assistant.tracker_db, chat.conversation()) == ["hello", question]
    finally:
        relay.cut()
        server.stop()


@needs_chromium
def test_a_new_conversation_clears_the_history_and_gets_a_new_session(browser, web_server, assistant):
    with open_page(browser, "en-US") as page:
        page.goto(web_server.url)
        chat = Chat(page)
        chat.open()
        chat.send("hello")
        first_session = chat.session_id()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="New conversation").click()
        assert chat.patient_messages.count() == 0 and chat.bot_messages.count() == 0
        chat.send("What is a microlaminectomy?")
        assert chat.session_id() not in (None, first_session)
        assert stored_user_texts(assistant.tracker_db, chat.conversation()) == ["What is a microlaminectomy?"]


@needs_chromium
def test_a_message_the_assistant_cannot_read_is_marked_not_sent(browser, web_server, assistant):
    with open_page(browser, "en-US") as page:
        page.goto(web_server.url)
        chat = Chat(page)
        chat.open()
        chat.send("hello")
        chat.input.fill("\u200b\u200b")  # only invisible characters: the channel refuses it
        chat.send_button.click()
        refused = chat.patient_messages.last
        refused.locator(".msg__status").wait_for(state="visible")
        assert refused.locator(".msg__status").inner_text() == "Not sent: this message could not be read."
        chat.typing.wait_for(state="hidden")
        # The conversation goes on, and the tracker store has only what the assistant could read.
        answer = "\n".join(chat.send("What is a microdiscectomy?"))
        assert squeeze(default_content().answer("microdiscectomy", "overview", "en").text) in squeeze(answer)
        assert stored_user_texts(assistant.tracker_db, chat.conversation()) == ["hello", "What is a microdiscectomy?"]
