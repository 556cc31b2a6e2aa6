"""Which channels start: the ones whose secrets are set, with a log line for each one left out."""
import logging
import re
from pathlib import Path

import rasa.shared.utils.io
import yaml

from bot.channels.credentials import startable_channels, write_startable_credentials
from tests.channel_env import channel_env

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CREDENTIALS = PROJECT_ROOT / "credentials.yml"
TEMPLATE = """
bot.channels.rest.ValidatedRestInput:
vendor.Chat:
  secret: ${CHAT_SECRET}
  api: ${CHAT_API:-https://api.chat.example}
  nested: {token: "prefix-${CHAT_TOKEN}"}
"""


def test_a_channel_with_every_variable_set_starts_and_keeps_its_references(tmp_path):
    template, out = tmp_path / "credentials.yml", tmp_path / "out" / "credentials.yml"
    template.write_text(TEMPLATE)
    left_out = write_startable_credentials(template, out, {"CHAT_SECRET": "s3cret", "CHAT_TOKEN": "t0ken"})
    assert left_out == {}
    written = out.read_text()
    # The secrets stay in the environment: the written file only names them.
    assert "s3cret" not in written and "t0ken" not in written
    assert yaml.safe_load(written)["vendor.Chat"] == {
        "secret": "${CHAT_SECRET}", "api": "https://api.chat.example", "nested": {"token": "prefix-${CHAT_TOKEN}"}}


def test_rasa_reads_the_written_file_with_the_secrets_filled_in(tmp_path, monkeypatch):
    template, out = tmp_path / "credentials.yml", tmp_path / "written.yml"
    template.write_text(TEMPLATE)
    env = {"CHAT_SECRET": "s3cret", "CHAT_TOKEN": "t0ken", "CHAT_API": "http://127.0.0.1:9"}
    write_startable_credentials(template, out, env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    loaded = rasa.shared.utils.io.read_config_file(str(out))
    assert loaded["vendor.Chat"] == {"secret": "s3cret", "api": "http://127.0.0.1:9", "nested": {"token": "prefix-t0ken"}}
    assert "bot.channels.rest.ValidatedRestInput" in loaded


def test_a_channel_missing_a_variable_is_left_out_with_a_log_line_naming_it(tmp_path, caplog):
    template, out = tmp_path / "credentials.yml", tmp_path / "written.yml"
    template.write_text(TEMPLATE)
    with caplog.at_level(logging.WARNING):
        left_out = write_startable_credentials(template, out, {"CHAT_SECRET": "s3cret"})
    assert left_out == {"vendor.Chat": ["CHAT_TOKEN"]}
    assert list(yaml.safe_load(out.read_text())) == ["bot.channels.rest.ValidatedRestInput"]
    assert "Channel vendor.Chat is not started: set CHAT_TOKEN to start it." in caplog.text


def test_the_projects_credentials_name_every_secret_as_a_variable():
    text = CREDENTIALS.read_text(encoding="utf-8")
    credentials = yaml.safe_load(text)
    for channel, settings in credentials.items():
        for key, value in (settings or {}).items():
            if re.search(r"secret|token|sid|password", key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", str(value)), f"{channel}.{key} must come from the environment"


def test_with_no_secrets_only_the_patient_facing_web_channels_start():
    started, left_out = startable_channels(yaml.safe_load(CREDENTIALS.read_text(encoding="utf-8")), {})
    assert sorted(started) == ["bot.channels.rest.ValidatedRestInput", "bot.channels.socketio.ValidatedSocketIOInput"]
    assert len(left_out) == 6


def test_the_test_secrets_start_every_channel():
    started, left_out = startable_channels(yaml.safe_load(CREDENTIALS.read_text(encoding="utf-8")),
                                           channel_env("http://127.0.0.1:9"))
    assert left_out == {} and len(started) == 8
