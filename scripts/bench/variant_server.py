"""``noom serve`` with some of the relay fast path's levers undone, to measure what each one buys.

    python scripts/bench/variant_server.py LEVERS -- [noom serve arguments]

LEVERS is a comma-separated list of the levers to keep (``none`` keeps none, which is python-socketio
and python-engineio with their defaults on asyncio): see ``LEVERS`` below.
"""

from __future__ import annotations

import asyncio
import sys

import engineio.async_drivers.aiohttp as eio_aiohttp
import socketio
from engineio import json as eio_json

from noom import cli
from noom.signaling import engine, engineio_patch

LEVERS = {
    "no-deflate": "websocket without permessage-deflate",
    "msgspec": "msgspec JSON codec and no binary scan of outgoing packets",
    "direct-emit": "emits without a task per recipient",
    "engineio-loops": "engineio reader/writer without task hand-offs, direct websocket writes",
    "uvloop": "uvloop event loop",
}


def undo(lever: str) -> None:
    if lever == "no-deflate":
        engineio_patch.PlainWebSocket = eio_aiohttp.WebSocket  # type: ignore[misc]
    elif lever == "msgspec":
        engine.MsgspecJSON = eio_json  # type: ignore[misc,assignment]
        engine.Packet = socketio.packet.Packet  # type: ignore[misc]
    elif lever == "direct-emit":
        engine.Manager = socketio.AsyncManager  # type: ignore[misc]
    elif lever == "engineio-loops":
        engineio_patch._install_loops = lambda: []  # make_app leaves upstream's loops
    elif lever == "uvloop":
        cli.new_event_loop = asyncio.new_event_loop  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown lever {lever!r}: choose from {', '.join(LEVERS)}")


def main() -> int:
    keep_arg, _, *serve_args = sys.argv[1:]
    keep = set() if keep_arg == "none" else set(keep_arg.split(","))
    for lever in LEVERS:
        if lever not in keep:
            undo(lever)
    return cli.main(["serve", *serve_args])


if __name__ == "__main__":
    sys.exit(main())
