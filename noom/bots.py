"""The seam between the signaling server and the bots it can start: the server never imports ``media``.

``SignalingServer`` decides *who may* start a recorder or an echo test; a ``BotLauncher`` (``media.service``'s
``MediaService``, wired in by the app factory) decides *whether it can* (its caps) and runs them. A server
built without one answers those requests with ``busy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class EchoRoom:
    """The private room an echo bot waits in for the socket that asked for it."""

    room: str
    password: str


class BotLauncher(Protocol):
    async def start_recorder(self, server_url: str, room: str) -> None:
        """Start a recorder that joins ``room``; raises ``ProtocolError`` (``busy``) past the caps."""

    async def start_echo(self, server_url: str, sid: str, address: str) -> EchoRoom:
        """Start an echo bot for socket ``sid``; raises ``ProtocolError`` (``busy``) past the caps."""

    async def end_echo(self, sid: str) -> None:
        """Socket ``sid`` went away: end its echo test, if it has one."""
