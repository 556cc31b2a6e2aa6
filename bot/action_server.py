"""Starts the rasa-sdk action server bound to one interface (``rasa run actions`` always
listens on every interface, which a hospital server should not do by default)."""
import argparse
import logging

from rasa_sdk.endpoint import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    app = create_app("actions")
    app.run(args.host, args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()
