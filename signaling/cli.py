"""The ``noom`` command line: ``noom serve`` runs the service; bots and tools add subcommands here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from aiohttp import web

from .config import Config


def _serve(args: argparse.Namespace) -> int:
    from .app import make_app

    config = Config.from_args(args)
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    app = make_app(config)
    print(f"Noom is serving on http://{config.host}:{config.port}", file=sys.stderr, flush=True)
    web.run_app(app, host=config.host, port=config.port, print=None, access_log=None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="noom", description="Noom video calls: server, bots and tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the signaling server and web client")
    Config.add_arguments(serve)
    serve.set_defaults(run=_serve)
    from media.cli import register as register_bots  # the bots' commands; aiortc loads only when one runs

    register_bots(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"noom: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
