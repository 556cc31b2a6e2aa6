"""Serves the website chat widget and a demo hospital page that embeds it and, on a port of its own,
the staff console.

    python -m bot.web_server --host 127.0.0.1 --port 8080 --staff-port 8081 --rasa-url http://127.0.0.1:5005

- ``/``: the demo hospital page, with the widget pointed at ``--rasa-url``;
- ``/widget/widget.js``, ``/widget/widget.css``: the widget that any hospital page embeds;
- ``/widget/vendor/socket.io.min.js``: the browser build of socket.io-client, from
  ``web/node_modules`` (installed by ``npm ci --prefix web``);
- ``/health``: whether the widget can start.

``--rasa-url`` is the address *browsers* use to reach Rasa (its socket.io channel is on the same
port, at /socket.io); behind a reverse proxy that is the public https address.
- on ``--staff-port``, ``/staff/``: the staff console (bot/staff/console.py), behind a staff login. Its
  own port is its own origin: a script on the public patient page can never reach the console's
  cookie or pages, and the hospital can keep the port off the internet.

``--rasa-url`` is the address *browsers* use to reach Rasa; ``--rasa-api-url`` is the address this
server uses itself (the console's "Try it"), which is usually the local one.
"""
from __future__ import annotations

import argparse
import asyncio
import html
import logging
from pathlib import Path
import os
from typing import Awaitable, Callable, List, Optional
from urllib.parse import urlsplit

from aiohttp import web

from bot import api_token
from bot.local_secrets import SecretError
from bot.staff.access_log import AccessLog
from bot.staff.auth import StaffAuth
from bot.staff.console import ConsoleSettings, add_console
from bot.staff.conversation_tests import AssistantClient
from bot.staff.pseudonym import pseudonym
from bot.staff.store import ConversationStore
from bot.staff.teach import SAVED_TESTS_DIR, Corrections

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = PROJECT_ROOT / "web"
INSTALL_COMMAND = "npm ci --prefix web"
# The only files the widget needs from the socket.io-client package (the map helps browser devtools).
VENDOR_FILES = ("socket.io.min.js", "socket.io.min.js.map")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RASA_URL = web.AppKey("rasa_url", str)
# The proxies (addresses, comma-separated) whose X-Forwarded-For the staff console believes.
TRUSTED_PROXIES_ENV_VAR = "STAFF_TRUSTED_PROXIES"


def rasa_origin(rasa_url: str) -> str:
    """scheme://host[:port] of Rasa's public URL; ValueError when it is not an http(s) URL."""
    parts = urlsplit(rasa_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the Rasa URL must be an http:// or https:// address, not {rasa_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(rasa_url: str) -> str:
    """Only our own files run and style the page; it may connect only to itself and to Rasa."""
    origin = rasa_origin(rasa_url)
    websocket_origin = "ws" + origin[len("http"):]  # http -> ws, https -> wss
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        f"connect-src 'self' {origin} {websocket_origin}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])


def security_headers(policy: str):
    """Headers for every response, error pages included (an on_response_prepare signal)."""

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.path.startswith("/widget/"):
            # Hospital pages on other sites load the widget; pages that isolate themselves
            # (Cross-Origin-Embedder-Policy) need this to be allowed to.
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"

    return add_headers


def file_route(path: Path, content_type: str) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})

    return serve


def demo_page(template: Path, rasa_url: str, missing_client: bool) -> str:
    """The demo page with the widget pointed at Rasa, and a visible notice when it cannot start."""
    page = template.read_text(encoding="utf-8").replace("{{rasa_url}}", html.escape(rasa_url, quote=True))
    error = ""
    if missing_client:
        error = ('<p class="setup-error" role="alert">The chat cannot start: socket.io-client is not installed. '
                 f"Run <code>{INSTALL_COMMAND}</code> and restart this server.</p>")
    return page.replace("{{setup_error}}", error)


async def redirect_to_console(request: web.Request) -> web.Response:
    raise web.HTTPFound("/staff/")


def create_app(rasa_url: str, web_dir: Path = WEB_DIR) -> web.Application:
    """The public web application: demo page, widget files, health check; with security headers on
    every response."""
    rasa_url = rasa_url.strip().rstrip("/")
    rasa_origin(rasa_url)  # fails early on a malformed URL
    vendor_dir = web_dir / "node_modules" / "socket.io-client" / "dist"
    missing_client = not (vendor_dir / VENDOR_FILES[0]).is_file()
    if missing_client:
        logger.error("socket.io-client is missing from %s: the chat widget cannot connect. Run `%s`.",
                     vendor_dir, INSTALL_COMMAND)

    page = demo_page(web_dir / "demo" / "index.html", rasa_url, missing_client)

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-cache"})

    async def health(request: web.Request) -> web.Response:
        widget = "missing socket.io-client" if missing_client else "ready"
        return web.json_response({"status": "ok" if not missing_client else "degraded", "widget": widget,
                                  "rasa_url": rasa_url}, status=200 if not missing_client else 503)

    def vendor_route(name: str) -> Handler:
        async def serve(request: web.Request) -> web.StreamResponse:
            path = vendor_dir / name
            if not path.is_file():
                raise web.HTTPServiceUnavailable(
                    text=f"The chat widget's socket.io client is not installed. Run `{INSTALL_COMMAND}`.")
            content_type = "text/javascript; charset=utf-8" if name.endswith(".js") else "application/json"
            return web.FileResponse(path, headers={"Content-Type": content_type, "Cache-Control": "max-age=3600"})

        return serve

    routes: List[web.RouteDef] = [
        web.get("/", index),
        web.get("/health", health),
        web.get("/demo/demo.css", file_route(web_dir / "demo" / "demo.css", "text/css; charset=utf-8")),
        web.get("/widget/widget.js", file_route(web_dir / "widget" / "widget.js", "text/javascript; charset=utf-8")),
        web.get("/widget/widget.css", file_route(web_dir / "widget" / "widget.css", "text/css; charset=utf-8")),
    ]
    routes += [web.get(f"/widget/vendor/{name}", vendor_route(name)) for name in VENDOR_FILES]

    app = web.Application()
    app.on_response_prepare.append(security_headers(content_security_policy(rasa_url)))
    app.add_routes(routes)
    app[RASA_URL] = rasa_url
    return app


def create_staff_app(settings: ConsoleSettings, rasa_url: str) -> web.Application:
    """The staff console's application, for its own port, with the same security headers."""
    app = web.Application()
    app.on_response_prepare.append(security_headers(content_security_policy(rasa_url)))

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "console": "on" if settings.auth.enabled else "off"})

    app.router.add_get("/health", health)
    app.router.add_get("/", redirect_to_console)
    app.router.add_get("/staff", redirect_to_console)
    add_console(app, settings)
    return app


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the chat widget and the demo hospital page.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port of the demo page and widget (default 8080)")
    parser.add_argument("--staff-port", type=int, default=8081, help="port of the staff console (default 8081)")
    parser.add_argument("--staff-host", default=None,
                        help="address of the staff console (default: --host); keep it off the internet")
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005",
                        help="Rasa's address as browsers reach it (default http://127.0.0.1:5005)")
    parser.add_argument("--rasa-api-url", default="http://127.0.0.1:5005",
                        help="Rasa's address as this server reaches it, for the staff console "
                             "(default http://127.0.0.1:5005; its token comes from bot/api_token.py)")
    parser.add_argument("--endpoints", default=str(PROJECT_ROOT / "endpoints.yml"),
                        help="Rasa's endpoints.yml, whose tracker store the staff console reads")
    args = parser.parse_args(argv)
    try:
        rasa_origin(args.rasa_url)
        rasa_origin(args.rasa_api_url)
    except ValueError as error:
        parser.error(str(error))
    return args


def staff_settings(args: argparse.Namespace, environ=os.environ) -> Optional[ConsoleSettings]:
    """The staff console's settings from the command line and the environment (bot/staff/auth.py);
    None, with the reason logged, when the tracker store is one the console cannot read."""
    try:
        store = ConversationStore.from_endpoints(Path(args.endpoints), PROJECT_ROOT)
    except (OSError, ValueError) as error:
        logger.error("The staff console is off: %s", error)
        return None
    return ConsoleSettings(
        auth=StaffAuth.from_environment(environ),
        trusted_proxies=frozenset(environ.get(TRUSTED_PROXIES_ENV_VAR, "").replace(",", " ").split()),
        store=store,
        assistant=AssistantClient(args.rasa_api_url, api_token.stored(environ=environ)),
        corrections=Corrections(),
        saved_tests_dir=SAVED_TESTS_DIR,
        access_log=AccessLog(PROJECT_ROOT / "var" / "staff_access.log"),
    )


async def serve(args: argparse.Namespace) -> None:
    """The public site on --port and, when its store can be read, the console on --staff-port."""
    runners = [web.AppRunner(create_app(args.rasa_url), access_log=None)]
    sites = [(args.host, args.port)]
    settings = staff_settings(args)
    if settings is not None:
        runners.append(web.AppRunner(create_staff_app(settings, args.rasa_url), access_log=None))
        sites.append((args.staff_host or args.host, args.staff_port))
    for runner, (host, port) in zip(runners, sites):
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
    logger.info("Demo hospital page with the chat widget: http://%s:%d/ (assistant at %s)",
                args.host, args.port, args.rasa_url)
    if settings is not None:
        logger.info("Staff console: http://%s:%d/staff/", *sites[1])
    try:
        await asyncio.Event().wait()  # until the process is stopped
    finally:
        for runner in runners:
            await runner.cleanup()


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        # A pseudonym key that is too short must stop the start, not the first correction a reviewer saves.
        pseudonym("the key is usable")
    except SecretError as error:
        raise SystemExit(f"The web server does not start: {error}")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
