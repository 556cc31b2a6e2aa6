"""`rasa run` with the API token of bot/api_token.py, given to Rasa inside this process rather than on
the command line, where `ps` would show it to every user of the machine.

`python -m bot.rasa_server [rasa run's options]`: the same options as `rasa run`; `--auth-token` is added,
and the server's own limit on a request's size is set (Sanic's REQUEST_MAX_SIZE).
"""
import os
import sys

from bot import api_token

MAX_REQUEST_BYTES = 1024 * 1024


def main() -> None:
    if any(arg.startswith(("--auth-token", "-t")) for arg in sys.argv[1:]):
        raise SystemExit("bot.rasa_server: give the token in RASA_AUTH_TOKEN, not on the command line")
    # Sanic buffers up to 100 MB of a request before any handler sees it; no request to this server
    # (a patient's message, a vendor's webhook, the staff console's API calls) comes near 1 MB.
    os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(MAX_REQUEST_BYTES))
    token = api_token.load_or_create()
    # The REST channel checks the same token (bot/channels/rest.py), read from the environment.
    os.environ[api_token.ENV_VAR] = token
    from rasa.__main__ import main as rasa_main

    # "=" joins the value to its option: a token may begin with "-", which argparse would take for an option.
    sys.argv = ["rasa", "run", *sys.argv[1:], f"--auth-token={token}"]
    rasa_main()


if __name__ == "__main__":
    main()
