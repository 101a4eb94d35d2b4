"""Server configuration: one dataclass, filled from command-line flags that each have a NOOM_* variable."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field, fields
from typing import Any

from .protocol import Limits


def _ice_servers(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"ICE servers must be a JSON list of RTCIceServer objects: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(s, dict) and "urls" in s for s in value):
        raise argparse.ArgumentTypeError('ICE servers must be a JSON list like [{"urls": "stun:stun.example.org"}]')
    return value


def _origins(text: str) -> list[str]:
    return [o.strip() for o in text.split(",") if o.strip()]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {value}")
    return value


@dataclass(frozen=True)
class Config:
    host: str = field(default="127.0.0.1", metadata={"help": "address to listen on"})
    port: int = field(default=3000, metadata={"help": "port to listen on (0 picks a free one)", "type": int})
    ice_servers: list[dict[str, Any]] = field(
        default_factory=list,
        metadata={"help": "JSON list of RTCIceServer dicts handed to clients in the join ack", "type": _ice_servers},
    )
    capacity: int = field(default=8, metadata={"help": "peers allowed in one room", "type": _positive})
    chat_history: int = field(default=50, metadata={"help": "recent chat messages kept per room", "type": _positive})
    cors_origins: list[str] = field(
        default_factory=list,
        metadata={"help": "comma-separated origins allowed to connect besides our own ('*' for any)", "type": _origins},
    )
    ping_interval: float = field(default=25.0, metadata={"help": "seconds between Engine.IO pings", "type": _seconds})
    ping_timeout: float = field(
        default=20.0, metadata={"help": "seconds without a pong before a peer counts as gone", "type": _seconds}
    )
    log_level: str = field(
        default="info",
        metadata={"help": "debug, info, warning or error", "choices": ["debug", "info", "warning", "error"]},
    )
    echo_max_sessions: int = field(
        default=4, metadata={"help": "echo tests (/echo) running at the same time", "type": _positive}
    )
    recordings_dir: str = field(default="recordings", metadata={"help": "directory the recorder writes MP4 files to"})
    limits: Limits = field(default_factory=Limits, metadata={"cli": False})

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """One ``--flag`` per field, defaulting to ``NOOM_FLAG`` from the environment."""
        for f in fields(Config):
            if f.metadata.get("cli", True) is False:
                continue
            env = "NOOM_" + f.name.upper()
            convert = f.metadata.get("type", str)
            default = os.environ.get(env)
            if default is not None:
                try:
                    default = convert(default)
                except (argparse.ArgumentTypeError, ValueError) as exc:
                    parser.error(f"{env}={default!r} is not valid: {exc}")
            parser.add_argument(
                "--" + f.name.replace("_", "-"),
                dest=f.name,
                type=convert,
                default=default,
                choices=f.metadata.get("choices"),
                help=f"{f.metadata['help']} (env {env})",
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Config:
        given = {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None}
        return cls(**given)
