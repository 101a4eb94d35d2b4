"""Helpers for the media tests."""

from __future__ import annotations

from .helpers import TEST_SERVER_SECRET, RunningServer


def known_secret(server: RunningServer) -> str:
    """The secret ``server`` runs with (every test server's), for bots run as commands with --server-secret."""
    assert server.config.server_secret == TEST_SERVER_SECRET
    return TEST_SERVER_SECRET


def bot_credential(server: RunningServer) -> str:
    """What the bots of a test server authenticate with (the server admits ``kind: "bot"`` only with it)."""
    return server.bot_auth["botSecret"]
