"""The staff console's logins and roles (issue 11, "Staff console").

The attacks: parallel slow logins each got a guess, because failures were counted after the body was
read; the lockout was per address only, and behind a proxy that address is the proxy's, so one attacker
locked out every staff member. Passwords were stored in plain text in STAFF_USERS. Every member of
staff could unmask, correct and export.
"""
import socket
import subprocess
import sys
import threading

import pytest
import requests

from bot.staff.auth import MAX_FAILURES, hash_entry, parse_accounts
from tests.staff_console_server import ACCOUNTS, ConsoleServer


@pytest.fixture
def console(assistant, tmp_path):
    server = ConsoleServer(assistant, tmp_path, trusted_proxies={"127.0.0.1"})
    yield server
    server.stop()


def _login(console, name, password, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return requests.post(console.url + "/staff/login", data={"user": name, "password": password},
                         headers=headers, allow_redirects=False).status_code


def _slow_login(port, name, password, started, release, statuses):
    """A login whose body arrives only when `release` is set, as an attacker's slow request would."""
    body = f"user={name}&password={password}".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(b"POST /staff/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Type: application/x-www-form-urlencoded\r\n"
                           b"X-Forwarded-For: 198.51.100.7\r\n"
                           + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        started.release()
        release.wait(60)
        connection.sendall(body)
        statuses.append(int(connection.recv(4096).split(b" ", 2)[1]))


def test_parallel_slow_logins_get_no_more_guesses_than_the_limit(console):
    statuses, started, release = [], threading.Semaphore(0), threading.Event()
    guesses = [threading.Thread(target=_slow_login, args=(console.port, "alice", f"guess-{n}", started, release, statuses))
               for n in range(3 * MAX_FAILURES)]
    for guess in guesses:
        guess.start()
    for _ in guesses:
        started.acquire()
    release.set()  # every body arrives at once
    for guess in guesses:
        guess.join(60)
    assert len(statuses) == len(guesses)
    assert statuses.count(401) <= MAX_FAILURES and statuses.count(429) >= len(guesses) - MAX_FAILURES
    assert _login(console, "alice", ACCOUNTS["alice"][1], "198.51.100.7") == 429  # that client waits


def test_an_account_is_limited_across_clients_and_one_client_cannot_lock_out_the_others(console):
    for n in range(MAX_FAILURES):
        assert _login(console, "alice", "wrong-password", f"203.0.113.{n}") == 401
    # A new address does not buy another guess at alice's password ...
    assert _login(console, "alice", ACCOUNTS["alice"][1], "203.0.113.99") == 429
    # ... and alice's colleagues, behind the same proxy, still log in.
    assert _login(console, "bob", ACCOUNTS["bob"][1], "192.0.2.10") == 303


def test_a_client_is_limited_across_accounts(console):
    for n in range(MAX_FAILURES):
        assert _login(console, f"made-up-{n}", "wrong-password", "198.51.100.20") == 401
    assert _login(console, "bob", ACCOUNTS["bob"][1], "198.51.100.20") == 429
    assert _login(console, "bob", ACCOUNTS["bob"][1], "198.51.100.21") == 303


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(assistant, tmp_path):
    server = ConsoleServer(assistant, tmp_path)  # no trusted proxy: X-Forwarded-For is anyone's
    try:
        for n in range(MAX_FAILURES):
            assert _login(server, f"made-up-{n}", "wrong-password", f"10.0.0.{n}") == 401
        assert _login(server, "bob", ACCOUNTS["bob"][1], "10.0.0.200") == 429
    finally:
        server.stop()


def test_staff_users_holds_argon2_hashes_never_passwords():
    accounts, problems = parse_accounts("dora:reviewer:a-plain-password-here erin:admin:$argon2id$x frank")
    assert accounts == {}
    assert [p.split(" ")[0] for p in problems] == ["'dora'", "the", "the"]
    entry = hash_entry("dora", "viewer", "a-long-enough-password")
    assert "a-long-enough-password" not in entry
    accounts, problems = parse_accounts(entry)
    assert problems == [] and accounts["dora"].role == "viewer"


def test_the_hash_command_makes_an_entry_that_logs_in(tmp_path):
    made = subprocess.run([sys.executable, "-m", "bot.staff.auth", "erin", "reviewer"], input="erins-long-password\n",
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    entry = made.stdout.strip()
    assert entry.startswith("erin:reviewer:$argon2") and "erins-long-password" not in entry
    from bot.staff.auth import StaffAuth
    auth = StaffAuth(parse_accounts(entry)[0])
    assert auth.password_is_right("erin", "erins-long-password") and not auth.password_is_right("erin", "wrong")
    short = subprocess.run([sys.executable, "-m", "bot.staff.auth", "erin", "reviewer"], input="short\n",
                           capture_output=True, text=True, timeout=60)
    assert short.returncode == 1 and "at least" in short.stderr

