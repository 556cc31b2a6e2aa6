"""Who may use the staff console: staff accounts from the environment, and their login sessions.

    STAFF_USERS="alice:a-long-password bob:another-password"

Accounts are `name:password` pairs separated by spaces (a name is letters, digits, `.`, `_` or `-`;
a password has no spaces and at least MIN_PASSWORD_LENGTH characters). Without STAFF_USERS the
console is off: every page answers 401 and says how to turn it on. Passwords are compared in
constant time; sessions are random tokens kept in this process's memory, so a restart logs
everyone out.
"""
from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

logger = logging.getLogger(__name__)

ENV_VAR = "STAFF_USERS"
MIN_PASSWORD_LENGTH = 8
SESSION_SECONDS = 8 * 3600  # a working shift
# After this many wrong passwords from one address, logins from it wait LOCKOUT_SECONDS.
MAX_FAILURES, LOCKOUT_SECONDS = 5, 300
USER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def parse_accounts(value: Optional[str]) -> Tuple[Dict[str, str], List[str]]:
    """(name -> password, problems) from STAFF_USERS; a malformed entry is left out and reported."""
    accounts: Dict[str, str] = {}
    problems: List[str] = []
    for number, entry in enumerate((value or "").split(), 1):
        name, colon, password = entry.partition(":")
        if not colon or not USER_NAME.match(name):
            problems.append(f"entry {number} is not name:password (a name is letters, digits, '.', '_' or '-')")
        elif len(password) < MIN_PASSWORD_LENGTH:
            problems.append(f"the password of {name!r} is shorter than {MIN_PASSWORD_LENGTH} characters")
        elif name in accounts:
            problems.append(f"{name!r} is listed twice")
        else:
            accounts[name] = password
    return accounts, problems


@dataclass
class Session:
    user: str
    expires: float


class StaffAuth:
    def __init__(self, accounts: Dict[str, str]):
        self._accounts = dict(accounts)
        self._sessions: Dict[str, Session] = {}
        self._failures: Dict[str, List[float]] = {}

    @classmethod
    def from_environment(cls, environ) -> "StaffAuth":
        accounts, problems = parse_accounts(environ.get(ENV_VAR))
        for problem in problems:
            logger.error("%s: %s; that account is not usable.", ENV_VAR, problem)
        if not accounts:
            logger.warning("The staff console is off: set %s to 'name:password' pairs to turn it on.", ENV_VAR)
        return cls(accounts)

    @property
    def enabled(self) -> bool:
        return bool(self._accounts)

    def locked_out(self, address: str) -> bool:
        recent = [t for t in self._failures.get(address, []) if t > time.monotonic() - LOCKOUT_SECONDS]
        self._failures[address] = recent
        return len(recent) >= MAX_FAILURES

    def log_in(self, name: str, password: str, address: str) -> Optional[str]:
        """A new session token, or None for a wrong name or password (counted against the address)."""
        expected = self._accounts.get(name)
        # Compare against something even for an unknown name, so timing does not reveal names.
        valid = hmac.compare_digest(password.encode(), (expected or secrets.token_hex(16)).encode())
        if not (expected and valid):
            self._failures.setdefault(address, []).append(time.monotonic())
            logger.warning("Staff login failed for %r from %s", name[:64], address)
            return None
        self._failures.pop(address, None)
        token = secrets.token_urlsafe(32)
        self._sessions[token] = Session(name, time.time() + SESSION_SECONDS)
        logger.info("Staff user %s logged in from %s", name, address)
        return token

    def user_of(self, token: Optional[str]) -> Optional[str]:
        session = self._sessions.get(token or "")
        if session is None:
            return None
        if session.expires < time.time():
            del self._sessions[token]
            return None
        return session.user

    def log_out(self, token: Optional[str]) -> None:
        self._sessions.pop(token or "", None)
