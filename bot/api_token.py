"""The token of Rasa's HTTP API and of the REST channel: `RASA_AUTH_TOKEN` from the environment, or else
one generated on first start into var/rasa_auth_token (the folder 0700, the file 0600), so that
`make run` never serves the API without one. The staff console, the test-conversation runner and
`make run` all read it from here.

`python -m bot.api_token` prints the token (creating it if needed), for scripts and for staff who call
the API by hand: `curl "http://localhost:5005/status?token=$(.venv/bin/python -m bot.api_token)"`.
"""
from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Mapping, Optional

from bot.paths import PROJECT_ROOT

ENV_VAR = "RASA_AUTH_TOKEN"
TOKEN_FILE = PROJECT_ROOT / "var" / "rasa_auth_token"
# A generated token carries 256 bits; one from the environment must not be guessable either.
MIN_LENGTH = 24
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class TokenError(ValueError):
    """The token is unusable or missing where one is required; the message says what to do."""


def from_environment(environ: Mapping[str, str] = os.environ) -> Optional[str]:
    token = (environ.get(ENV_VAR) or "").strip()
    if token and len(token) < MIN_LENGTH:
        raise TokenError(f"{ENV_VAR} is {len(token)} characters long; use at least {MIN_LENGTH} "
                         "(for example `python -c 'import secrets; print(secrets.token_urlsafe(32))'`).")
    return token or None


def stored(path: Path = TOKEN_FILE, environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """The environment's token, else the one `make run` generated, else None (nothing is created):
    for the tools that talk to a running assistant."""
    token = from_environment(environ)
    if token:
        return token
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def load_or_create(path: Path = TOKEN_FILE, environ: Mapping[str, str] = os.environ) -> str:
    """The environment's token, else the one stored in `path`, else a new one written there."""
    token = from_environment(environ)
    if token:
        return token
    if path.exists():
        stored = path.read_text(encoding="utf-8").strip()
        if len(stored) >= MIN_LENGTH:
            return stored
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    token = secrets.token_urlsafe(32)
    # Created 0600 from the start: never readable by others, not even between write and chmod.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return token


def require_for_host(host: str, environ: Mapping[str, str] = os.environ) -> None:
    """Refuses (TokenError) to serve on an address other machines reach without a token set in the
    environment: a token generated on this disk suits one machine, not a server others can reach."""
    if host in LOOPBACK_HOSTS:
        return
    if not from_environment(environ):
        raise TokenError(f"Refusing to listen on {host}, which other machines can reach, without {ENV_VAR}: "
                         f"set it in the environment (at least {MIN_LENGTH} characters, from your secret store), "
                         "or listen on 127.0.0.1 behind a proxy.")


def matches(provided: Optional[str], expected: Optional[str]) -> bool:
    """Constant-time comparison, so the time taken tells nothing about the token."""
    return bool(provided) and bool(expected) and hmac.compare_digest(provided.encode(), expected.encode())


def main() -> None:
    """`python -m bot.api_token [HOST]`: the token; with HOST, first refuse a reachable one without it."""
    import sys

    try:
        if len(sys.argv) > 1:
            require_for_host(sys.argv[1])
        print(load_or_create())
    except TokenError as error:
        print(f"bot.api_token: {error}", file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main()
