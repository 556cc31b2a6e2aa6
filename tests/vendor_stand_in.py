"""A real HTTP server on loopback standing in for a vendor's API (LINE's reply and push endpoints).

It records every request (method, path, headers, JSON body) and answers 200 with `{}`, or with
a status a test queues for a path, so a test can check exactly what the channel sent.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional


class VendorStandIn:
    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self._statuses: Dict[str, List[int]] = {}
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                with stand_in._lock:
                    stand_in.requests.append({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers), "body": body})
                    queued = stand_in._statuses.get(self.path.split("?")[0]) or []
                    status = queued.pop(0) if queued else 200
                reply = b"{}" if status == 200 else json.dumps({"message": "stand-in refused"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = do_DELETE = _record

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def answer_next(self, path: str, status: int) -> None:
        """The next request to `path` gets `status` instead of 200 (e.g. 400 for an expired reply token)."""
        with self._lock:
            self._statuses.setdefault(path, []).append(status)

    def received(self, path_prefix: str = "") -> List[Dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"].startswith(path_prefix)]

    def wait_for(self, predicate, timeout: float = 30.0) -> List[Dict[str, Any]]:
        """The recorded requests matching `predicate`, waiting until there is at least one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [r for r in self.requests if predicate(r)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no matching request reached the stand-in within {timeout} s; got {self.requests!r}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
