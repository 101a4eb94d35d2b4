"""The bots' subcommands of ``noom``: ``bot echo``, ``bot record``, ``record`` and ``probe``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from .participant import Participant


log = logging.getLogger(__name__)


def _positive_seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {value}")
    return value


def _common(parser: argparse.ArgumentParser, name: str, duration_required: bool = False) -> None:
    parser.add_argument("--url", required=True, help="the Noom server, e.g. http://127.0.0.1:3000")
    parser.add_argument("--room", required=True, help="the room to join")
    parser.add_argument("--name", default=name, help=f"the name others see (default {name!r})")
    parser.add_argument("--password", default=None, help="the room's password, if it has one")
    parser.add_argument(
        "--duration",
        type=_positive_seconds,
        required=duration_required,
        default=None,
        help="seconds to stay" + ("" if duration_required else " (default: until Ctrl-C)"),
    )
    parser.add_argument(
        "--server-secret",
        default=os.environ.get("NOOM_SERVER_SECRET"),
        help="the server's --server-secret: the server admits bots only with it (env NOOM_SERVER_SECRET)",
    )
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])


def _record_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser, "Recorder")
    parser.add_argument("--out", required=True, type=Path, help="the MP4 file to write")
    parser.add_argument("--width", type=int, default=1280, help="width of the recording (default 1280)")
    parser.add_argument("--height", type=int, default=720, help="height of the recording (default 720)")
    parser.add_argument("--fps", type=int, default=15, help="frames per second of the recording (default 15)")
    parser.set_defaults(run=_run_record)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the bot subcommands to the ``noom`` parser."""
    bot = commands.add_parser("bot", help="run a bot in a room")
    kinds = bot.add_subparsers(dest="bot", required=True, metavar="BOT")
    echo = kinds.add_parser("echo", help="send every peer its own audio and video back")
    _common(echo, "Echo")
    echo.set_defaults(run=_run_echo)
    _record_arguments(kinds.add_parser("record", help="record the room into one MP4 (same as `noom record`)"))
    _record_arguments(commands.add_parser("record", help="record a room into one MP4 (H.264 + AAC)"))

    probe = commands.add_parser("probe", help="send a test pattern and tone, and measure what arrives")
    _common(probe, "Probe", duration_required=True)
    probe.add_argument("--tone", type=float, default=None, help="tone frequency in Hz (default: random, 500-3000)")
    probe.add_argument("--width", type=int, default=320)
    probe.add_argument("--height", type=int, default=240)
    probe.add_argument("--fps", type=float, default=30)
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    probe.set_defaults(run=_run_probe)


class Refused(Exception):
    """What to tell the person running the command, in one line."""


def _credential(args: argparse.Namespace) -> str:
    """The bot credential derived from ``--server-secret`` (never printed: it admits bots to every room)."""
    from noom.secret import ServerSecret

    if not args.server_secret:
        raise Refused(
            "bots must prove they belong to the server: give its secret with --server-secret or NOOM_SERVER_SECRET"
        )
    try:
        return ServerSecret(args.server_secret).bot_credential()
    except ValueError as exc:
        raise Refused(f"--server-secret is not valid: {exc}") from None


def _says_why(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A bot command that prints ``Refused`` as one line (exit 2) instead of a traceback."""

    @functools.wraps(run)
    def command(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except Refused as exc:
            print(f"noom {args.command}: {exc}", file=sys.stderr)
            return 2

    return command


def _setup_logging(args: argparse.Namespace) -> None:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


async def _until_done(
    duration: float | None, tick: float = 1.0, on_tick=None, stop: asyncio.Event | None = None
) -> None:
    """Wait for ``duration`` seconds, Ctrl-C, SIGTERM or ``stop``, calling ``on_tick`` every ``tick`` seconds."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    deadline = None if duration is None else time.monotonic() + duration
    while not stop.is_set():
        left = tick if deadline is None else min(tick, deadline - time.monotonic())
        if left <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), left)
        if on_tick is not None:
            on_tick()


async def _run_bot(bot: Participant, duration: float | None, on_tick=None) -> int:
    import socketio

    from . import rtp_fastpath
    from .participant import ConnectRefused, JoinError

    rtp_fastpath.install()  # version-checked; aiortc's own code runs when it changed
    try:
        await bot.start()
    except ConnectRefused as exc:
        hint = "" if "--server-secret" in str(exc) else " (is --server-secret the server's own?)"
        print(f"noom: {exc}{hint}", file=sys.stderr)
        return 1
    except JoinError as exc:
        print(f"noom: {exc}", file=sys.stderr)
        return 1
    except (socketio.exceptions.ConnectionError, TimeoutError) as exc:
        print(f"noom: could not reach the Noom server at {bot.url} ({exc}): is it running, and is the URL right?",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        # A recorder also stops when the room asks it to (the server's ``recording-stop``).
        await _until_done(duration, on_tick=on_tick, stop=getattr(bot, "stop_requested", None))
    finally:
        await bot.stop()
    return 0


@_says_why
def _run_echo(args: argparse.Namespace) -> int:
    from .echo import EchoBot

    _setup_logging(args)
    bot = EchoBot(args.url, args.room, args.name, args.password, bot_credential=_credential(args))
    print(f"Echo bot in room {args.room}: press Ctrl-C to leave", file=sys.stderr)
    return asyncio.run(_run_bot(bot, args.duration))


@_says_why
def _run_record(args: argparse.Namespace) -> int:
    from .recorder import RecorderBot

    _setup_logging(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        bot = RecorderBot(
            args.url, args.room, args.out, args.name, width=args.width, height=args.height, fps=args.fps,
            password=args.password, bot_credential=_credential(args),
        )  # fmt: skip
    except ValueError as exc:
        print(f"noom record: {exc}", file=sys.stderr)
        return 2
    tty = sys.stderr.isatty()

    def progress() -> None:
        size = args.out.stat().st_size / 1e6 if args.out.exists() else 0.0
        minutes, seconds = divmod(int(bot.elapsed), 60)
        total = f" of {args.duration:.0f} s" if args.duration else ""
        people = sum(not t.left for t in bot.tiles.values())
        line = f"REC {minutes:02d}:{seconds:02d}{total}  {people} participant(s)  {size:.1f} MB"
        print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    print(f"Recording room {args.room} into {args.out}: press Ctrl-C to stop", file=sys.stderr)
    code = asyncio.run(_run_bot(bot, args.duration, on_tick=progress))
    if code == 0:
        print(f"\nSaved {bot.elapsed:.1f} s to {args.out}", file=sys.stderr)
    return code


@_says_why
def _run_probe(args: argparse.Namespace) -> int:
    from .probe import ProbeBot

    _setup_logging(args)
    bot = ProbeBot(
        args.url, args.room, args.name, tone_hz=args.tone, width=args.width, height=args.height, fps=args.fps,
        password=args.password, bot_credential=_credential(args),
    )  # fmt: skip
    code = asyncio.run(_run_bot(bot, args.duration))
    if code != 0:
        return code
    report = bot.report()
    if args.json:
        print(msgspec.json.encode(report).decode())
        return 0
    print(f"Probe {report.name} (tag {report.tag}, tone {report.tone_hz:.0f} Hz) in room {report.room}:")
    if not report.peers:
        print("  nobody else sent us media")
    for peer in report.peers:
        tone = f"{peer.tone_hz:.0f} Hz" if peer.tone_hz else "nothing"
        print(
            f"  {peer.name}: {peer.frames} frames at {peer.fps:.1f} fps, {peer.freezes} freeze(s) "
            f"(longest gap {peer.max_gap_ms:.0f} ms), tone heard: {tone} at {peer.level_dbfs:.0f} dBFS"
        )
        if peer.latency is not None:
            lat = peer.latency
            print(
                f"    own frames back: {lat.count}, round trip p50 {lat.p50_ms:.0f} ms, "
                f"p90 {lat.p90_ms:.0f} ms, p99 {lat.p99_ms:.0f} ms"
            )
    return 0
