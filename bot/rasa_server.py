"""`rasa run` with the API token of bot/api_token.py, given to Rasa inside this process rather than on
the command line, where `ps` would show it to every user of the machine.

`python -m bot.rasa_server [rasa run's options]`: the same options as `rasa run`; `--auth-token` is added.
"""
import os
import sys

from bot import api_token


def main() -> None:
    if "--auth-token" in sys.argv:
        raise SystemExit("bot.rasa_server: give the token in RASA_AUTH_TOKEN, not on the command line")
    token = api_token.load_or_create()
    # The REST channel checks the same token (bot/channels/rest.py), read from the environment.
    os.environ[api_token.ENV_VAR] = token
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", "run", *sys.argv[1:], "--auth-token", token]
    rasa_main()


if __name__ == "__main__":
    main()
