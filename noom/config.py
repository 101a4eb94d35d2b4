"""Server configuration: one dataclass, filled from command-line flags that each have a NOOM_* variable."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from noom.protocol import Limits


def _ice_servers(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"ICE servers must be a JSON list of RTCIceServer objects: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(s, dict) and "urls" in s for s in value):
        raise argparse.ArgumentTypeError('ICE servers must be a JSON list like [{"urls": "stun:192.0.2.10:3478"}]')
    return value


def _origins(text: str) -> list[str]:
    return [o.strip() for o in text.split(",") if o.strip()]


def _public_urls(text: str) -> list[str]:
    """Origins (scheme://host[:port]) the server is reached at, normalised as browsers send ``Origin``."""
    origins = []
    for url in _origins(text):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise argparse.ArgumentTypeError(f"{url!r} is not a public URL: use https://host[:port], no path")
        default = {"http": 80, "https": 443}[parts.scheme]
        try:
            port = parts.port
        except ValueError:
            raise argparse.ArgumentTypeError(f"{url!r} has an invalid port") from None
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        origins.append(f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else ""))
    return origins


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _redis_url(text: str) -> str:
    if not text.startswith(("redis://", "rediss://", "unix://", "redis+sentinel://")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Redis URL: use redis://[:password@]host:port/db, rediss://... or unix:///path"
        )
    return text


def _turn_urls(text: str) -> list[str]:
    urls = [u.strip() for u in text.split(",") if u.strip()]
    for url in urls:
        if not url.startswith(("turn:", "turns:")):
            raise argparse.ArgumentTypeError(f"{url!r} is not a TURN URL: use turn:host:port or turns:host:port")
    return urls


def _boolean(text: str | bool) -> bool:
    if isinstance(text, bool):
        return text
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"must be true or false, not {text!r}")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {value}")
    return value


def _secret(text: str) -> str:
    if len(text) < 16:
        raise argparse.ArgumentTypeError("must be at least 16 characters (e.g. the output of `openssl rand -hex 32`)")
    return text


RATE_FIELDS = (
    "rate_relay",
    "rate_chat",
    "rate_join",
    "rate_rename",
    "rate_media",
    "rate_rooms",
    "rate_host",
    "rate_reaction",
)


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_second`` sustained, with bursts of up to ``burst`` events."""

    per_second: float
    burst: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"RATE:BURST"``, e.g. ``"50:200"``."""
        try:
            rate, burst = text.split(":")
            value = cls(float(rate), int(burst))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected RATE:BURST like 50:200, not {text!r}") from None
        if value.per_second <= 0 or value.burst < 1:
            raise argparse.ArgumentTypeError(f"rate and burst must be positive, not {text!r}")
        return value

    def __str__(self) -> str:
        return f"{self.per_second:g}:{self.burst}"


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
    public_url: list[str] = field(
        default_factory=list,
        metadata={
            "help": "comma-separated URLs this server is reached at (https://meet.example.com); browsers may then "
            "connect only from these and --cors-origins, not from whatever Host a request names",
            "type": _public_urls,
        },
    )
    ping_interval: float = field(default=25.0, metadata={"help": "seconds between Engine.IO pings", "type": _seconds})
    ping_timeout: float = field(
        default=20.0, metadata={"help": "seconds without a pong before a peer counts as gone", "type": _seconds}
    )
    rooms_push_interval: float = field(
        default=0.25,
        metadata={
            "help": "seconds between room-list pushes to the lobby; changes in between are folded into one",
            "type": float,
        },
    )
    # Abuse limits (docs/security.md). RATE:BURST = events per second sustained : events at once.
    rate_relay: Rate = field(
        default=Rate(100, 400), metadata={"help": "offer/answer/ice per socket, RATE:BURST", "type": Rate.parse}
    )
    rate_chat: Rate = field(default=Rate(2, 10), metadata={"help": "chat per socket, RATE:BURST", "type": Rate.parse})
    rate_join: Rate = field(
        default=Rate(1, 5), metadata={"help": "join/leave per socket, RATE:BURST", "type": Rate.parse}
    )
    rate_rename: Rate = field(
        default=Rate(0.5, 5), metadata={"help": "rename per socket, RATE:BURST", "type": Rate.parse}
    )
    rate_media: Rate = field(
        default=Rate(10, 30), metadata={"help": "media state per socket, RATE:BURST", "type": Rate.parse}
    )
    rate_rooms: Rate = field(
        default=Rate(2, 10), metadata={"help": "rooms and unknown events per socket, RATE:BURST", "type": Rate.parse}
    )
    rate_host: Rate = field(
        default=Rate(5, 20),
        metadata={"help": "host actions (mute, remove, admit, ...) per socket, RATE:BURST", "type": Rate.parse},
    )
    rate_reaction: Rate = field(
        default=Rate(1, 5), metadata={"help": "reactions per socket, RATE:BURST", "type": Rate.parse}
    )
    abuse_strikes: int = field(
        default=30,
        metadata={"help": "rate-limited refusals (refilling 1/s) before a socket is disconnected", "type": _positive},
    )
    max_connections_per_address: int = field(
        default=128, metadata={"help": "open sockets allowed from one client address", "type": _positive}
    )
    connect_timeout: float = field(
        default=5.0,
        metadata={"help": "seconds a new connection may take to send its Socket.IO connect", "type": _seconds},
    )
    trust_proxy: bool = field(
        default=False,
        metadata={"help": "take client addresses from X-Forwarded-For (only behind your own proxy)", "type": _boolean},
    )
    log_level: str = field(
        default="info",
        metadata={"help": "debug, info, warning or error", "choices": ["debug", "info", "warning", "error"]},
    )
    # ---- scale-out and production (docs/deploy.md) ----
    redis_url: str | None = field(
        default=None,
        metadata={
            "help": "redis://host:port/db shared by every Noom process; rooms stay in-process without it",
            "type": _redis_url,
        },
    )
    heartbeat_ttl: float = field(
        default=15.0,
        metadata={"help": "seconds after which a silent process's peers are removed from rooms", "type": _seconds},
    )
    workers: int = field(
        default=1,
        metadata={"help": "processes sharing the port (needs --redis-url; websocket only)", "type": _positive},
    )
    turn_urls: list[str] = field(
        default_factory=list,
        metadata={"help": "comma-separated turn: URLs whose credentials the join ack carries", "type": _turn_urls},
    )
    # repr=False: the secret must never reach a log line.
    turn_secret: str | None = field(
        default=None, repr=False, metadata={"help": "coturn static-auth-secret for ephemeral TURN credentials"}
    )
    turn_ttl: int = field(default=600, metadata={"help": "seconds a TURN credential stays valid", "type": _positive})
    tls_cert: str | None = field(default=None, metadata={"help": "PEM certificate (chain) file: serve HTTPS"})
    tls_key: str | None = field(default=None, metadata={"help": "PEM private key file for --tls-cert"})
    tls_self_signed: bool = field(
        default=False,
        metadata={
            "help": "serve HTTPS with a certificate made now for this machine's names and addresses (LAN testing)",
            "type": _boolean,
            "nargs": "?",
            "const": True,
        },
    )
    log_format: str = field(
        default="text", metadata={"help": "text or json (one object per line)", "choices": ["text", "json"]}
    )
    shutdown_timeout: float = field(
        default=10.0, metadata={"help": "seconds a stopping process waits for its clients to go", "type": _seconds}
    )
    # Bots (echo tests, recorders) need aiortc and PyAV (~1.4 s to import, tens of MiB): a process started with
    # --bots false never loads them and refuses those requests with ``no-bots`` (docs/deploy.md).
    bots: bool = field(
        default=True,
        metadata={
            "help": "run echo tests and recorders in this process (false: signaling only, no aiortc loaded)",
            "type": _boolean,
        },
    )
    echo_max_sessions: int = field(
        default=4, metadata={"help": "echo tests (/echo) running at the same time", "type": _positive}
    )
    recordings_dir: str = field(default="recordings", metadata={"help": "directory the recorder writes MP4 files to"})
    # Each recorder costs ~58 MiB and ~0.1 core and writes ~1 GB an hour: every one of them is bounded.
    recorders_max: int = field(
        default=4, metadata={"help": "recordings this process runs at the same time", "type": _positive}
    )
    recordings_retention: float = field(
        default=7 * 86400.0, metadata={"help": "seconds after which a recording is deleted", "type": _seconds}
    )
    recordings_max_bytes: int = field(
        default=20 * 2**30,
        metadata={"help": "bytes --recordings-dir may hold; the oldest recordings go first", "type": _positive},
    )
    recording_link_ttl: float = field(
        default=86400.0, metadata={"help": "seconds a recording's download link stays valid", "type": _seconds}
    )
    # ---- room authority (docs/security.md) ----
    # repr=False: the secret must never reach a log line.
    server_secret: str | None = field(
        default=None,
        repr=False,
        metadata={
            "help": "secret shared by every process of this deployment: bots prove with it that they are ours, "
            "links and tickets are signed with it (made at start when unset; agreed through Redis with --redis-url)",
            "type": _secret,
        },
    )
    bots_max: int = field(
        default=16, metadata={"help": "bot connections (echo, recorder, probe) this process accepts", "type": _positive}
    )
    removal_ban: float = field(
        default=300.0,
        metadata={"help": "seconds a participant the host removed cannot join that room again", "type": _seconds},
    )
    limits: Limits = field(default_factory=Limits, metadata={"cli": False})

    def rates(self) -> dict[str, Rate]:
        """Rate limits by event class (see ``noom.protocol.CLIENT_EVENTS``); unknown events count as rooms."""
        return {field.removeprefix("rate_"): getattr(self, field) for field in RATE_FIELDS} | {"other": self.rate_rooms}

    @property
    def websocket_only(self) -> bool:
        """Several workers share a port without sticky sessions, so long-polling cannot work there."""
        return self.workers > 1

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
                # argparse checks choices of given flags only, not of defaults.
                if f.metadata.get("choices") and default not in f.metadata["choices"]:
                    parser.error(f"{env}={default!r} is not valid: choose from {', '.join(f.metadata['choices'])}")
            parser.add_argument(
                "--" + f.name.replace("_", "-"),
                dest=f.name,
                type=convert,
                default=default,
                choices=f.metadata.get("choices"),
                **{key: f.metadata[key] for key in ("nargs", "const") if key in f.metadata},
                help=f"{f.metadata['help']} (env {env})",
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Config:
        given = {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None}
        return cls(**given)
