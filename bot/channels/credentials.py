"""Which channels start: credentials.yml, with the channels whose secrets are not set left out.

credentials.yml names every channel and reads every secret from the environment as `${VAR}`.
Rasa refuses to start when such a variable is unset, so `make run` (scripts/serve.sh) and the
tests first write the channels that can start to var/credentials.yml, and log one line per
channel left out, naming the variables to set. The written file still says `${VAR}`: the
secrets themselves never reach the disk. `${VAR:-default}` marks a setting that is optional
(a vendor API address, say): it is written as `${VAR}` when VAR is set, else as the default.

    python -m bot.channels.credentials credentials.yml var/credentials.yml
"""
from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

logger = logging.getLogger(__name__)

# ${NAME} or ${NAME:-default}
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def _resolve(value: Any, environ: Mapping[str, str], missing: List[str]) -> Any:
    """The value with optional variables settled; required variables that are unset go to `missing`."""
    if isinstance(value, dict):
        return {key: _resolve(item, environ, missing) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, environ, missing) for item in value]
    if not isinstance(value, str):
        return value

    def settle(match: "re.Match[str]") -> str:
        name, default = match.group("name"), match.group("default")
        if environ.get(name):
            return match.group(0) if default is None else "${" + name + "}"
        if default is None:
            missing.append(name)
            return match.group(0)
        return default

    return _VARIABLE.sub(settle, value)


def startable_channels(
    credentials: Dict[str, Any], environ: Mapping[str, str] = os.environ
) -> Tuple[Dict[str, Any], Dict[str, List[str]]]:
    """(the channels whose variables are all set, {channel left out: its unset variables})."""
    started: Dict[str, Any] = {}
    left_out: Dict[str, List[str]] = {}
    for channel, settings in (credentials or {}).items():
        missing: List[str] = []
        resolved = _resolve(settings, environ, missing)
        if missing:
            left_out[channel] = sorted(set(missing))
        else:
            started[channel] = resolved
    return started, left_out


def write_startable_credentials(
    template: Path, out: Path, environ: Mapping[str, str] = os.environ
) -> Dict[str, List[str]]:
    """Writes the startable channels of `template` to `out`; returns and logs the ones left out."""
    credentials = yaml.safe_load(template.read_text(encoding="utf-8")) or {}
    if not isinstance(credentials, dict):
        raise ValueError(f"{template}: expected a mapping of channel names to their settings")
    started, left_out = startable_channels(credentials, environ)
    for channel, variables in left_out.items():
        logger.warning("Channel %s is not started: set %s to start it.", channel, ", ".join(variables))
    out.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Written by bot/channels/credentials.py from {template.name}; edit that file, not this one.\n"
    # An empty mapping, not `null`: Rasa then starts with no channel instead of its default REST one.
    out.write_text(header + yaml.safe_dump(started, allow_unicode=True, sort_keys=False, default_flow_style=False)
                   if started else header + "{}\n", encoding="utf-8")
    return left_out


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s - %(message)s")
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m bot.channels.credentials TEMPLATE OUT", file=sys.stderr)
        return 2
    write_startable_credentials(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
