"""Protocol v1: the typed payloads clients send and the objects the server sends back.

Every client payload is converted into one of these structs at the edge (``parse``); handlers and the
room store only ever see typed objects. msgspec does the conversion: it is strict about types, ignores
unknown fields, and costs a few microseconds per message, which matters on the relay hot path.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import msgspec

PROTOCOL_VERSION = 1

ErrorCode = Literal[
    "bad-request",
    "room-full",
    "wrong-password",
    "not-in-room",
    "unknown-peer",
    "rate-limited",
    # Room authority: who may do what (docs/protocol.md §4a).
    "not-allowed",
    "room-locked",
    "waiting",
    "already-recording",
    "not-recording",
    "busy",
    "no-bots",
]
PeerKind = Literal["human", "bot"]
# What a bot does, so that clients can show it (a REC indicator while a recorder is in the room).
BotRole = Literal["echo", "recorder", "probe"]
LeaveReason = Literal["left", "disconnected", "removed"]
MediaKind = Literal["audio", "video"]

MEDIA_FLAGS = ("audio", "video", "screen", "hand")
# What ``reaction`` may carry: a small fixed set, so that a reaction is never free text (chat is for that).
REACTIONS = ("👍", "👏", "😂", "❤️", "🎉", "😮")
ROOM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits of protocol v1; the defaults are the documented ones."""

    name_max: int = 40
    chat_max: int = 2000
    sdp_max: int = 64 * 1024
    candidate_max: int = 2 * 1024
    password_max: int = 128


class ProtocolError(Exception):
    """A request the protocol refuses; becomes ``{"ok": false, "error": {...}}`` in the ack."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def reply(self) -> ErrorReply:
        return ErrorReply(error=ErrorInfo(code=self.code, message=self.message))


def bad_request(message: str) -> ProtocolError:
    return ProtocolError("bad-request", message)


def not_allowed(message: str) -> ProtocolError:
    return ProtocolError("not-allowed", message)


def new_id() -> str:
    """An unguessable id (96 random bits) the server hands out: peers, chat messages, waiting-room entries."""
    return secrets.token_urlsafe(12)


# ---- objects the server sends -------------------------------------------------------------------


class Peer(msgspec.Struct, rename="camel"):
    peer_id: str
    name: str
    kind: PeerKind = "human"
    role: BotRole | None = None
    audio: bool = True
    video: bool = True
    screen: bool = False
    hand: bool = False
    # When the hand went up (server clock, ms since the epoch), null while it is down: raised hands are
    # answered in this order.
    hand_at: int | None = None


class ChatMessage(msgspec.Struct):
    id: str
    from_: str = msgspec.field(name="from")
    name: str = ""
    text: str = ""
    ts: int = 0


class RecordingInfo(msgspec.Struct):
    """Who started the room's recording (``by`` is null when an operator started it with ``noom record``)."""

    by: str | None
    name: str
    since: int


class RoomState(msgspec.Struct, rename="camel"):
    """What the room's members are told about its authority: who hosts, whether it takes newcomers, REC."""

    host: str | None = None
    locked: bool = False
    waiting_room: bool = False
    recording: RecordingInfo | None = None


class WaitingEntry(msgspec.Struct):
    """Someone on the pre-join page waiting for the host to let them in."""

    id: str
    name: str
    since: int


class RoomSummary(msgspec.Struct):
    room: str
    count: int
    locked: bool


class Muted(msgspec.Struct):
    """To a peer the host muted: its client turns that device off (and may turn it on again itself)."""

    kind: MediaKind
    by: str


class UnmuteRequest(msgspec.Struct):
    kind: MediaKind
    by: str


class HandLowered(msgspec.Struct):
    """To a peer whose raised hand the host lowered."""

    by: str


class ReactionMessage(msgspec.Struct):
    """A reaction as the room sees it: who sent which emoji."""

    from_: str = msgspec.field(name="from")
    emoji: str = ""


class Removed(msgspec.Struct):
    """To a peer the host removed, or to everyone when the host ended the call; its socket is closed next."""

    reason: Literal["removed", "ended"]
    by: str


class Admitted(msgspec.Struct):
    ticket: str


class Declined(msgspec.Struct):
    message: str


class WaitingList(msgspec.Struct):
    """To the host: everyone waiting to be let in, oldest first."""

    waiting: list[WaitingEntry]


class SdpMessage(msgspec.Struct):
    """``offer`` and ``answer`` as the target receives them."""

    from_: str = msgspec.field(name="from")
    sdp: str = ""


class IceMessage(msgspec.Struct):
    from_: str = msgspec.field(name="from")
    candidate: dict[str, Any] | None = None


class PeerLeft(msgspec.Struct, rename="camel"):
    peer_id: str
    reason: LeaveReason = "left"


class MediaState(msgspec.Struct, rename="camel"):
    """A peer's full media state (``None`` only when an older server left a flag out)."""

    peer_id: str
    audio: bool | None = None
    video: bool | None = None
    screen: bool | None = None
    hand: bool | None = None
    hand_at: int | None = None

    @classmethod
    def of(cls, peer: Peer) -> MediaState:
        return cls(
            peer_id=peer.peer_id,
            audio=peer.audio,
            video=peer.video,
            screen=peer.screen,
            hand=peer.hand,
            hand_at=peer.hand_at,
        )


class Renamed(msgspec.Struct, rename="camel"):
    peer_id: str
    name: str


class RoomList(msgspec.Struct):
    rooms: list[RoomSummary]


# An RTCIceServer (urls, username, credential) as the configuration and the TURN credentials give it.
IceServer = dict[str, Any]


# ---- acknowledgements: what every request's ack carries (docs/protocol.md §2) -------------------


class Ok(msgspec.Struct, kw_only=True):
    """A request done; replies that carry more extend it."""

    ok: bool = True


class ErrorInfo(msgspec.Struct):
    code: ErrorCode
    message: str


class ErrorReply(msgspec.Struct, kw_only=True):
    ok: bool = False
    error: ErrorInfo


class WaitReply(ErrorReply, kw_only=True, rename="camel"):
    """``join`` put in the waiting room: the ``waiting`` error plus the entry the host will admit."""

    wait_id: str


class JoinReply(Ok, kw_only=True, rename="camel"):
    peer_id: str
    room: str
    peers: list[Peer]
    ice_servers: list[IceServer]
    chat: list[ChatMessage]
    state: RoomState


class ChatReply(Ok, kw_only=True):
    message: ChatMessage


class MediaReply(Ok, kw_only=True):
    """The sender's full media state after the change, as the others get it (with the server's ``handAt``)."""

    state: MediaState


class RoomsReply(Ok, kw_only=True):
    rooms: list[RoomSummary]


class IceServersReply(Ok, kw_only=True, rename="camel"):
    ice_servers: list[IceServer]


class EchoReply(Ok, kw_only=True):
    """Where the echo bot waits: a private room and its password."""

    room: str
    password: str


Reply = Ok | ErrorReply
# The plain success ack every handler without more to say returns (never mutated).
OK = Ok()


# ---- payloads clients send ----------------------------------------------------------------------


class Join(msgspec.Struct):
    room: str
    name: str
    password: str | None = None
    kind: PeerKind = "human"
    role: BotRole | None = None
    # Only when creating the room: keep it out of the lobby's room list (an echo test's private room).
    unlisted: bool = False
    # From the host's ``admit``: lets a waiting newcomer in past the waiting room and the lock.
    ticket: str | None = None


class Empty(msgspec.Struct):
    pass


class Offer(msgspec.Struct):
    to: str
    sdp: str


class Answer(msgspec.Struct):
    to: str
    sdp: str


# An RTCIceCandidateInit (candidate, sdpMid, sdpMLineIndex, usernameFragment) is a flat object.
CandidateInit = dict[str, str | int | float | bool | None]


class Ice(msgspec.Struct):
    to: str
    candidate: CandidateInit | None


class Chat(msgspec.Struct):
    text: str


class Media(msgspec.Struct):
    audio: bool | None = None
    video: bool | None = None
    screen: bool | None = None
    hand: bool | None = None

    def changes(self) -> dict[str, bool]:
        return {k: v for k in MEDIA_FLAGS if (v := getattr(self, k)) is not None}


class Rename(msgspec.Struct):
    name: str


class Target(msgspec.Struct, rename="camel"):
    """A host action aimed at one peer of the room (``host``, ``remove``)."""

    peer_id: str


class Mute(msgspec.Struct, rename="camel"):
    """``mute`` and ``ask-unmute``: one peer's microphone (``audio``) or camera (``video``)."""

    peer_id: str
    kind: MediaKind


class Lock(msgspec.Struct):
    locked: bool


class Reaction(msgspec.Struct):
    emoji: str


class WaitingRoom(msgspec.Struct):
    enabled: bool


class WaitingTarget(msgspec.Struct):
    """``admit`` and ``decline``: one entry of the waiting room."""

    id: str


Payload = TypeVar("Payload", bound=msgspec.Struct)


def parse(kind: type[Payload], args: tuple[Any, ...]) -> Payload:
    """Turn the arguments of a received event into ``kind``, or raise ``bad-request``.

    Handlers take ``*args`` so that a client sending no argument, or several, gets an answer instead
    of a TypeError inside python-socketio.
    """
    data = args[0] if args else {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise bad_request(f"the payload must be a JSON object, not {type(data).__name__}")
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise bad_request(f"invalid payload: {exc}") from None


def check_room(room: str) -> str:
    if not ROOM_RE.fullmatch(room):
        raise bad_request(
            "room names are 1-64 characters of letters, digits, '-' and '_', starting with a letter or digit"
        )
    return room


def check_name(name: str, limits: Limits) -> str:
    name = name.strip()
    if not name or len(name) > limits.name_max:
        raise bad_request(f"the name must be 1-{limits.name_max} characters after trimming spaces")
    if any(not ch.isprintable() or unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise bad_request("the name must not contain control characters")
    return name


def check_chat(text: str, limits: Limits) -> str:
    if not text.strip() or len(text) > limits.chat_max:
        raise bad_request(f"a chat message must be 1-{limits.chat_max} characters, not only spaces")
    return text


def check_sdp(sdp: str, limits: Limits) -> str:
    if not sdp or len(sdp.encode()) > limits.sdp_max:
        raise bad_request(f"the sdp must be a non-empty string of at most {limits.sdp_max} bytes")
    return sdp


_json_encode = msgspec.json.Encoder().encode


def check_candidate(candidate: CandidateInit | None, limits: Limits) -> CandidateInit | None:
    if candidate is None:
        return None
    if len(_json_encode(candidate)) > limits.candidate_max:
        raise bad_request(f"the candidate must be at most {limits.candidate_max} bytes serialized")
    return candidate


def to_wire(obj: msgspec.Struct | list[msgspec.Struct]) -> Any:
    """A struct (or list of them) as the plain JSON-able value python-socketio emits."""
    return msgspec.to_builtins(obj)


ReplyT = TypeVar("ReplyT", bound=Ok)


def decode_reply(kind: type[ReplyT], ack: Any) -> ReplyT:
    """A client's view of an ack: ``kind`` when the request succeeded; a refusal raises ``ProtocolError``
    with the server's code and message."""
    if isinstance(ack, dict) and ack.get("ok") is False:
        error = msgspec.convert(ack, ErrorReply).error
        raise ProtocolError(error.code, error.message)
    return msgspec.convert(ack, kind)


# ---- the table: every event of the protocol, in one place ----------------------------------------

# Which token bucket an event draws from (``noom serve --rate-CLASS``).
RateClass = Literal["relay", "chat", "join", "rename", "media", "rooms", "host", "reaction"]


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """A client→server event: what its payload decodes into, which rate bucket it draws from and what its
    ack carries when the request succeeds (a refusal is always an ``ErrorReply``)."""

    payload: type[msgspec.Struct]
    rate: RateClass
    reply: type[Ok] = Ok


CLIENT_EVENTS: dict[str, ClientEvent] = {
    "join": ClientEvent(Join, "join", JoinReply),
    "leave": ClientEvent(Empty, "join"),
    "offer": ClientEvent(Offer, "relay"),
    "answer": ClientEvent(Answer, "relay"),
    "ice": ClientEvent(Ice, "relay"),
    "chat": ClientEvent(Chat, "chat", ChatReply),
    "media": ClientEvent(Media, "media", MediaReply),
    "reaction": ClientEvent(Reaction, "reaction"),
    "rename": ClientEvent(Rename, "rename"),
    "rooms": ClientEvent(Empty, "rooms", RoomsReply),
    "ice-servers": ClientEvent(Empty, "rooms", IceServersReply),
    # Starting a bot costs the server a process's worth of work: as rare as joins.
    "recording-start": ClientEvent(Empty, "join"),
    "recording-stop": ClientEvent(Empty, "join"),
    "echo-start": ClientEvent(Empty, "join", EchoReply),
    # The host's moderation (docs/protocol.md §4a).
    "host": ClientEvent(Target, "host"),
    "mute": ClientEvent(Mute, "host"),
    "ask-unmute": ClientEvent(Mute, "host"),
    "lower-hand": ClientEvent(Target, "host"),
    "remove": ClientEvent(Target, "host"),
    "lock": ClientEvent(Lock, "host"),
    "waiting-room": ClientEvent(WaitingRoom, "host"),
    "admit": ClientEvent(WaitingTarget, "host"),
    "decline": ClientEvent(WaitingTarget, "host"),
    "end": ClientEvent(Empty, "host"),
}

# Server→client events and the struct each one carries.
SERVER_EVENTS: dict[str, type[msgspec.Struct]] = {
    "peer-joined": Peer,
    "peer-left": PeerLeft,
    "offer": SdpMessage,
    "answer": SdpMessage,
    "ice": IceMessage,
    "chat": ChatMessage,
    "media": MediaState,
    "peer-renamed": Renamed,
    "rooms": RoomList,
    "room-state": RoomState,
    "waiting": WaitingList,
    "muted": Muted,
    "unmute-request": UnmuteRequest,
    "hand-lowered": HandLowered,
    "reaction": ReactionMessage,
    "removed": Removed,
    "admitted": Admitted,
    "declined": Declined,
    # To the recorder bot alone: save the file and leave.
    "recording-stop": Empty,
}
