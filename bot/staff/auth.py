"""Who may use the staff console: staff accounts from the environment, their roles and login sessions.

    STAFF_USERS="alice:reviewer:$argon2id$v=19$m=65536,t=3,p=4$… bob:viewer:$argon2id$…"

Accounts are `name:role:hash` entries separated by spaces. A name is letters, digits, `.`, `_` or
`-`; the role is `viewer` (sees patients' data masked) or `reviewer` (may also unmask, correct,
export and erase); the hash is an argon2 hash, never the password itself. Make an entry with

    .venv/bin/python -m bot.staff.auth alice reviewer      # asks for the password twice

Without STAFF_USERS the console is off: every page answers 401 and says how to turn it on.

Logins are limited per account and per client (LoginLimiter): every attempt counts as a failure
*before* its password is checked, and only a right password takes its own count back, so parallel
slow requests get no extra guesses. Sessions are random tokens kept in this process's memory, so a
restart logs everyone out.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import re
import secrets
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

logger = logging.getLogger(__name__)

ENV_VAR = "STAFF_USERS"
VIEWER, REVIEWER = "viewer", "reviewer"
ROLES = (VIEWER, REVIEWER)
MIN_PASSWORD_LENGTH = 12
SESSION_SECONDS = 8 * 3600  # a working shift
# At most MAX_FAILURES wrong (or unfinished) logins per account and per client in LOCKOUT_SECONDS.
MAX_FAILURES, LOCKOUT_SECONDS = 5, 300
USER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

_HASHER = PasswordHasher()
# Checked for a name that has no account, so the answer takes as long as for a real one.
_UNKNOWN_NAME_HASH = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Account:
    role: str
    password_hash: str


def parse_accounts(value: Optional[str]) -> Tuple[Dict[str, Account], List[str]]:
    """(name -> account, problems) from STAFF_USERS; a malformed entry is left out and reported."""
    accounts: Dict[str, Account] = {}
    problems: List[str] = []
    for number, entry in enumerate((value or "").split(), 1):
        name, role, password_hash = (entry.split(":", 2) + ["", ""])[:3]
        if not USER_NAME.match(name):
            problems.append(f"entry {number} does not start with a name (letters, digits, '.', '_' or '-')")
        elif role not in ROLES:
            problems.append(f"the role of {name!r} must be one of {', '.join(ROLES)} (name:role:hash)")
        elif not password_hash.startswith("$argon2"):
            problems.append(f"{name!r} has no argon2 hash: make the entry with `python -m bot.staff.auth {name} {role}`")
        elif name in accounts:
            problems.append(f"{name!r} is listed twice")
        else:
            accounts[name] = Account(role, password_hash)
    return accounts, problems


def hash_entry(name: str, role: str, password: str) -> str:
    """The STAFF_USERS entry for an account; ValueError for a name, role or password that will not do."""
    if not USER_NAME.match(name):
        raise ValueError("a name is 1 to 64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise ValueError(f"the role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return f"{name}:{role}:{_HASHER.hash(password)}"


class LoginLimiter:
    """Login attempts per account and per client, each counted as a failure until it succeeds."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_seconds: float = LOCKOUT_SECONDS,
                 max_keys: int = 100_000) -> None:
        self.max_failures, self.window_seconds, self.max_keys = max_failures, window_seconds, max_keys
        self._attempts: "OrderedDict[str, List[float]]" = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> List[float]:
        recent = [t for t in self._attempts.get(key, []) if t > now - self.window_seconds]
        self._attempts[key] = recent
        self._attempts.move_to_end(key)
        while len(self._attempts) > self.max_keys:  # many made-up names must not fill the memory
            self._attempts.popitem(last=False)
        return recent

    def try_count(self, key: str) -> Optional[float]:
        """Counts one attempt for `key` and returns its mark, or None when `key` is locked out."""
        with self._lock:
            now = time.monotonic()
            recent = self._recent(key, now)
            if len(recent) >= self.max_failures:
                return None
            recent.append(now)
            return now

    def take_back(self, key: str, mark: float) -> None:
        """An attempt that succeeded: it no longer counts against `key`."""
        with self._lock:
            recent = self._attempts.get(key, [])
            if mark in recent:
                recent.remove(mark)


@dataclass
class Session:
    user: str
    role: str
    expires: float


class StaffAuth:
    def __init__(self, accounts: Mapping[str, Account]):
        self._accounts = dict(accounts)
        self._sessions: Dict[str, Session] = {}
        self.limiter = LoginLimiter()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> "StaffAuth":
        accounts, problems = parse_accounts(environ.get(ENV_VAR))
        for problem in problems:
            logger.error("%s: %s; that account is not usable.", ENV_VAR, problem)
        if not accounts:
            logger.warning("The staff console is off: set %s to name:role:hash entries to turn it on "
                           "(python -m bot.staff.auth NAME ROLE makes one).", ENV_VAR)
        return cls(accounts)

    @property
    def enabled(self) -> bool:
        return bool(self._accounts)

    def password_is_right(self, name: str, password: str) -> bool:
        """Checks a password (slow by design: run it off the event loop). Counts nothing."""
        account = self._accounts.get(name)
        try:
            return _HASHER.verify(account.password_hash if account else _UNKNOWN_NAME_HASH, password) and bool(account)
        except (VerificationError, InvalidHashError):
            return False

    def start_session(self, name: str, address: str) -> str:
        token = secrets.token_urlsafe(32)
        self._sessions[token] = Session(name, self._accounts[name].role, time.time() + SESSION_SECONDS)
        logger.info("Staff user %s (%s) logged in from %s", name, self._accounts[name].role, address)
        return token

    def session_of(self, token: Optional[str]) -> Optional[Session]:
        session = self._sessions.get(token or "")
        if session is None:
            return None
        if session.expires < time.time():
            del self._sessions[token]
            return None
        return session

    def user_of(self, token: Optional[str]) -> Optional[str]:
        session = self.session_of(token)
        return session.user if session else None

    def log_out(self, token: Optional[str]) -> None:
        self._sessions.pop(token or "", None)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Prints a STAFF_USERS entry (name:role:argon2 hash) for one account.")
    parser.add_argument("name")
    parser.add_argument("role", choices=ROLES)
    arguments = parser.parse_args(argv)
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("The two passwords differ; nothing was made.", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")  # for scripts: the password on standard input
    try:
        print(hash_entry(arguments.name, arguments.role, password))
    except ValueError as error:
        print(f"Not made: {error}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
