"""Secrets a one-machine set-up may generate for itself: taken from the environment when set, else read
from (or, the first time, created in) var/<name>, the folder 0700 and the file 0600. Several replicas
must share them, so there they come from the environment or a secret store (README, "Running in production").
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Mapping, Optional

from bot.paths import PROJECT_ROOT

VAR_DIR = PROJECT_ROOT / "var"
# A generated secret carries 256 bits; one from the environment must not be guessable either.
MIN_LENGTH = 24


class SecretError(ValueError):
    """A secret is unusable or missing where one is required; the message says what to do."""


def from_environment(env_var: str, environ: Mapping[str, str] = os.environ) -> Optional[str]:
    value = (environ.get(env_var) or "").strip()
    if value and len(value) < MIN_LENGTH:
        raise SecretError(f"{env_var} is {len(value)} characters long; use at least {MIN_LENGTH} "
                          "(for example `python -c 'import secrets; print(secrets.token_urlsafe(32))'`).")
    return value or None


def stored(path: Path, env_var: str, environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """The environment's value, else the file's, else None (nothing is created)."""
    value = from_environment(env_var, environ)
    if value:
        return value
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def load_or_create(path: Path, env_var: str, environ: Mapping[str, str] = os.environ) -> str:
    """The environment's value, else the one stored in `path`, else a new one written there."""
    value = stored(path, env_var, environ)
    if value and len(value) >= MIN_LENGTH:
        return value
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    value = secrets.token_urlsafe(32)
    # Created 0600 from the start: never readable by others, not even between write and chmod.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    os.chmod(path, 0o600)
    return value
