"""The Socket.IO rooms the server fans out through. Every emit names one of them, so python-socketio's
message-queue manager can deliver it to sockets on any process unchanged."""

from __future__ import annotations

# Sockets not in a call, which get the room list pushed.
LOBBY = "lobby"


def room_channel(room: str) -> str:
    """Everybody in a call."""
    return "room:" + room


def peer_channel(peer_id: str) -> str:
    """One peer of a call (relays, host actions aimed at it)."""
    return "peer:" + peer_id


def waiting_channel(entry_id: str) -> str:
    """One socket in a room's waiting room (``admitted``, ``declined``)."""
    return "wait:" + entry_id
