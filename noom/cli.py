"""The ``noom`` command line: ``noom serve`` runs the service; bots and tools add subcommands here."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web

from noom.config import Config
from noom.web.assets import MissingAssetsError

log = logging.getLogger("noom")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (it roughly halves the event loop's share of a relay), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _serve(args: argparse.Namespace) -> int:
    from noom.app import make_app
    from noom.signaling.limits import warn_if_host_trusted
    from noom.signaling.logs import setup_logging
    from noom.signaling.tls import server_context
    from noom.signaling.workers import WORKER_ENV, die_with_supervisor, is_worker, supervise

    config = Config.from_args(args)
    if bool(config.turn_urls) != bool(config.turn_secret):
        print("noom: --turn-urls and --turn-secret go together: give both, or neither", file=sys.stderr)
        return 2
    if config.workers > 1 and not is_worker():
        return supervise(config, args.argv)  # each worker sets up its own logging
    setup_logging(config.log_level, config.log_format)
    if is_worker():
        die_with_supervisor()
    if os.environ.get(WORKER_ENV, "0") == "0":  # once per start, not once per worker
        warn_if_host_trusted(config.host, config.public_url)
    ssl_context, print_ = server_context(config.tls_cert, config.tls_key, config.tls_self_signed)
    app = make_app(config)
    scheme = "https" if ssl_context else "http"
    if print_:
        print(f"self-signed certificate SHA-256 {print_}", file=sys.stderr, flush=True)
    print(f"Noom is serving on {scheme}://{config.host}:{config.port}", file=sys.stderr, flush=True)
    # run_app turns SIGTERM/SIGINT into a graceful stop: close the listener, then on_shutdown (disconnect
    # every client so it reconnects elsewhere), then wait at most shutdown_timeout for open requests.
    web.run_app(
        app,
        host=config.host,
        port=config.port,
        ssl_context=ssl_context,
        reuse_port=config.workers > 1 or None,
        shutdown_timeout=config.shutdown_timeout,
        print=None,
        access_log=None,
        loop=new_event_loop(),
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="noom", description="Noom video calls: server, bots and tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the signaling server and web client")
    Config.add_arguments(serve)
    serve.set_defaults(run=_serve)
    from noom.media.cli import register as register_bots  # the bots' commands; aiortc loads only when one runs

    register_bots(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the supervisor of --workers starts each worker with the same arguments
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except (OSError, MissingAssetsError) as exc:
        print(f"noom: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
