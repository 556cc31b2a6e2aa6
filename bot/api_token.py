"""The token of Rasa's HTTP API and of the REST channel: `RASA_AUTH_TOKEN` from the environment, or else
one generated on first start into var/rasa_auth_token (bot/local_secrets.py: the folder 0700, the file
0600), so that `make run` never serves the API without one. The staff console, the test-conversation
runner and `make run` all read it from here.

`python -m bot.api_token` prints the token (creating it if needed), for scripts and for staff who call
the API by hand: `curl "http://localhost:5005/status?token=$(.venv/bin/python -m bot.api_token)"`.
"""
from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Mapping, Optional

from bot import local_secrets
from bot.local_secrets import MIN_LENGTH, SecretError as TokenError  # noqa: F401 (part of this module's API)

ENV_VAR = "RASA_AUTH_TOKEN"
TOKEN_FILE = local_secrets.VAR_DIR / "rasa_auth_token"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def from_environment(environ: Mapping[str, str] = os.environ) -> Optional[str]:
    return local_secrets.from_environment(ENV_VAR, environ)


def stored(path: Path = TOKEN_FILE, environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """The environment's token, else the one `make run` generated, else None (nothing is created):
    for the tools that talk to a running assistant."""
    return local_secrets.stored(path, ENV_VAR, environ)


def load_or_create(path: Path = TOKEN_FILE, environ: Mapping[str, str] = os.environ) -> str:
    """The environment's token, else the one stored in `path`, else a new one written there."""
    return local_secrets.load_or_create(path, ENV_VAR, environ)


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
