"""Property-based fuzzing of protocol v1 against a real server (one per test function): every event and
unknown ones, with arbitrary JSON, wrong types, huge strings, deep nesting, extra or missing arguments,
binary attachments and malformed packets. The server must never log an error or traceback, every ack has
the protocol's shape, and the room state stays consistent."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from noom.app import SIGNALING_KEY
from noom.protocol import CLIENT_EVENTS
from noom.signaling.engine import RESERVED_EVENTS
from noom.signaling.server import MAX_PACKET_BYTES

from .fuzzing import LogWatch, RawSocket, assert_ack_shape, eventually_consistent
from .helpers import Client, RunningServer

# Every event of the table but the bot-starting ones, which run real aiortc bots and have their own tests.
EVENTS = [event for event in CLIENT_EVENTS if event not in ("recording-start", "echo-start")]
# The names the server ignores without an ack (python-socketio's own, and "*", its catch-all handler's name).
RESERVED = sorted(RESERVED_EVENTS)
ROOMS = ["fuzz-a", "fuzz-b"]
# Stand-ins for the peer ids of the fuzzing sockets, swapped in when a step runs.
PEER_REFS = ["@peer0", "@peer1", "@peer2"]
# One server per test function, many examples against it: bounded so the whole file takes seconds.
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(ROOMS + PEER_REFS + EVENTS)
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
)


class Huge(str):
    """A long string that prints short in hypothesis' reports."""

    def __repr__(self) -> str:
        return f"'x' * {len(self)}"


# Strings at and around the protocol's size limits, and past the Engine.IO packet cap.
sizes = st.sampled_from([2048, 2049, 64 * 1024, 64 * 1024 + 1, MAX_PACKET_BYTES + 1])
huge_strings = sizes.map(lambda n: Huge("x" * n))
field_values = json_values | huge_strings | st.sampled_from(["", " ", "Ada", "\u202e", "\x00", "😀" * 41])
FIELDS = ["room", "name", "password", "kind", "role", "to", "sdp", "candidate", "text"]
FIELDS += ["audio", "video", "screen", "hand"]
FIELDS += ["peerId", "locked", "enabled", "id", "ticket"]
# Payloads that look like the protocol's (known fields, any values) as well as anything at all.
payloads = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=5) | json_values
valid_joins = st.builds(lambda room, name: {"room": room, "name": name}, st.sampled_from(ROOMS), st.just("Fuzz"))
event_names = st.sampled_from(EVENTS) | st.sampled_from(RESERVED) | st.text(max_size=30)
steps = st.tuples(
    st.integers(0, 2), event_names, st.lists(valid_joins | payloads, max_size=3) | st.just([]) | st.just([None])
)


def resolve(value: Any, sockets: list[RawSocket]) -> Any:
    """``value`` with the peer stand-ins replaced by the peer ids the sockets have now."""
    if isinstance(value, str) and value in PEER_REFS:
        return sockets[PEER_REFS.index(value)].peer_id or value
    if isinstance(value, list):
        return [resolve(v, sockets) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, sockets) for k, v in value.items()}
    return value


@pytest.fixture
def watch() -> AsyncIterator[LogWatch]:
    """Every log line of the process (signaling, socketio, engineio, aiohttp, asyncio) during the test."""
    handler = LogWatch()
    root = logging.getLogger()
    root.addHandler(handler)
    level = logging.getLogger("noom").level
    logging.getLogger("noom").setLevel(logging.WARNING)
    yield handler
    root.removeHandler(handler)
    logging.getLogger("noom").setLevel(level)


@pytest.fixture
async def fuzz_server(make_server) -> RunningServer:
    # All fuzzing sockets share one address: a removal must not ban them from a room for long.
    return await make_server(removal_ban=0.5)


@pytest.fixture
async def sockets(fuzz_server: RunningServer) -> AsyncIterator[list[RawSocket]]:
    made = [RawSocket(fuzz_server.url) for _ in PEER_REFS]
    yield made
    for socket in made:
        await socket.close()


async def run_step(socket: RawSocket, event: str, args: list[Any], sockets: list[RawSocket]) -> None:
    if not socket.open:
        await socket.connect()
    body = json.dumps([event, *resolve(args, sockets)], ensure_ascii=False)
    ack = await socket.call(body)
    if ack is None:
        # The server closes a connection only for a packet over the Engine.IO cap, or when a host removed it.
        assert socket.removed or len(body.encode()) > MAX_PACKET_BYTES, f"closed on a {len(body)}-byte {event!r}"
        socket.peer_id = None
        return
    if event in RESERVED:
        raise AssertionError(f"reserved event {event!r} was acked: {ack}")
    assert isinstance(ack, list) and len(ack) == 1, ack
    assert_ack_shape(ack[0], event)
    if event == "join" and ack[0]["ok"]:
        socket.peer_id = ack[0]["peerId"]
    if event in ("leave", "end") and ack[0]["ok"]:
        socket.peer_id = None


async def send_reserved(socket: RawSocket, event: str, args: list[Any]) -> None:
    """A reserved name gets no ack: send it without one, then prove the socket still answers."""
    body = json.dumps([event, *args], ensure_ascii=False)
    await socket.send("42" + body)
    ack = await socket.call('["rooms"]')
    if ack is None:
        assert len(body.encode()) > MAX_PACKET_BYTES, f"closed on a {len(body)}-byte {event!r} event"
        socket.peer_id = None
        return
    assert ack[0]["ok"], ack


@FUZZ
@given(script=st.lists(steps, min_size=1, max_size=8))
async def test_any_event_with_any_arguments(fuzz_server, sockets, watch, script) -> None:
    for index, event, args in script:
        socket = sockets[index]
        if event in RESERVED:
            if not socket.open:
                await socket.connect()
            await send_reserved(socket, event, args)
        else:
            await run_step(socket, event, args, sockets)
    await eventually_consistent(fuzz_server.app[SIGNALING_KEY])
    watch.check()


# Raw packets no client library sends: the server closes the connection (or ignores the packet),
# never logs a traceback, and keeps everybody else's state intact.
def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


MALFORMED = {
    "deep list as payload": '42["join",' + nested(10_000) + "]",
    "deep object as payload": '42["chat",' + '{"a":' * 10_000 + "1" + "}" * 10_000 + "]",
    "deep list as event name": "42" + nested(10_000),
    "deep list just under the decoder's limit": '42["rooms",' + nested(900) + "]",
    "truncated JSON": '421["join",{"room":',
    "object instead of event list": '421{"0":"join"}',
    "string instead of event list": '421"join"',
    "number instead of event list": "4217",
    "empty event list": "421[]",
    "non-string event name": "421[5,{}]",
    "null event name": "421[null]",
    "unknown packet type": "49",
    "connect error from client": '44{"message":"x"}',
    "binary event without the binary": '451-1["join",{"_placeholder":true,"num":0}]',
    "huge id": "42" + "9" * 99 + '["rooms"]',
    "id too long": "42" + "9" * 120 + '["rooms"]',
    "lone surrogate": '421["chat",{"text":"\\ud800"}]',
    "number out of range": '421["ice",{"to":"x","candidate":{"a":1e400}}]',
    "namespace we do not serve": '42/admin,1["rooms"]',
    "ack for nothing": "43999[1]",
    # Engine.IO JSON-decodes a message when it can: python-socketio would read true as packet type 1.
    "JSON true as the packet": "4true",
    "JSON false as the packet": "4false",
    "JSON number as the packet": "4 1",
    "JSON object as the packet": '4{"type":2,"data":["join"]}',
}
MALFORMED_BINARY = {
    "placeholder past the attachments": ('451-1["join",{"_placeholder":true,"num":5}]', (b"x",)),
    "placeholder numbered by a string": ('451-1["join",{"_placeholder":true,"num":"0"}]', (b"x",)),
    "placeholder numbered by a list": ('451-1["join",{"_placeholder":true,"num":[0]}]', (b"x",)),
    "deep nesting around a placeholder": (
        '451-1["join",' + nested(900, '{"_placeholder":true,"num":0}') + "]",
        (b"x",),
    ),
    "binary frame with no binary packet pending": ('421["rooms"]', (b"\x00\x01\xff",)),
}


@pytest.mark.parametrize("packet", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_malformed_packets_close_or_are_ignored_without_a_traceback(
    fuzz_server, sockets, watch, packet: str
) -> None:
    bystander, attacker = sockets[0], sockets[1]
    await bystander.connect()
    assert (await bystander.call('["join",{"room":"fuzz-a","name":"Bea"}]'))[0]["ok"]
    await attacker.connect()
    assert (await attacker.call('["join",{"room":"fuzz-a","name":"Mal"}]'))[0]["ok"]
    await attacker.send(packet)
    ack = await attacker.call('["rooms"]', timeout=10)
    assert ack is None or ack[0]["ok"], ack  # closed, or still serving normally
    assert (await bystander.call('["rooms"]'))[0]["ok"]
    await eventually_consistent(fuzz_server.app[SIGNALING_KEY])
    watch.check()


async def test_an_event_packet_must_be_a_list(fuzz_server, sockets, watch) -> None:
    # 421"rooms" once ran the event "r" with the arguments "o", "o", "m", "s", and acked it.
    socket = await sockets[0].connect()
    await socket.send('421"rooms"')
    await socket.send('422{"0":"rooms"}')
    ack = await socket.call('["rooms"]')
    assert ack is None or ack[0]["ok"], ack
    assert socket.other_acks == [], socket.other_acks
    watch.check()


@pytest.mark.parametrize("packet", list(MALFORMED_BINARY.values()), ids=list(MALFORMED_BINARY))
async def test_malformed_binary_packets_close_without_a_traceback(fuzz_server, sockets, watch, packet) -> None:
    text, attachments = packet
    socket = await sockets[0].connect()
    await socket.send(text, attachments)
    ack = await socket.call('["rooms"]', timeout=10)
    assert ack is None or ack[0]["ok"], ack
    await eventually_consistent(fuzz_server.app[SIGNALING_KEY])
    watch.check()


@FUZZ
@given(garbage=st.text(max_size=200) | st.binary(max_size=200))
@example(garbage="1")
async def test_arbitrary_bytes_as_packets(fuzz_server, sockets, watch, garbage: str | bytes) -> None:
    socket = sockets[0]
    if not socket.open:
        await socket.connect()
    assert socket.ws is not None
    if isinstance(garbage, bytes):
        try:
            await socket.ws.send_bytes(garbage)
        except ConnectionResetError:
            pass  # closed by the previous example's garbage: the call below reports it
    else:
        await socket.send("4" + garbage)
    try:
        ack = await socket.call('["rooms"]', timeout=5)
    except TimeoutError:
        # "41…" is a Socket.IO disconnect: the namespace is gone and nothing answers on it any more. Any
        # other silence would be the server stuck on this socket.
        assert socket.sid not in fuzz_server.app[SIGNALING_KEY].connections, f"no answer after {garbage!r}"
        await socket.close()
        ack = None
    assert ack is None or ack[0]["ok"], ack
    await eventually_consistent(fuzz_server.app[SIGNALING_KEY])
    watch.check()


# Binary attachments the way a real client sends them: python-socketio puts bytes found anywhere in the
# payload into attachments with placeholders, which the server puts back before validation.
binary_values = st.recursive(
    scalars | st.binary(max_size=64),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3),
)


@pytest.fixture
async def library_client(fuzz_server: RunningServer) -> AsyncIterator[Client]:
    client = await Client(fuzz_server.url).connect()
    yield client
    await client.close()


@settings(FUZZ, max_examples=150)
@given(event=st.sampled_from(EVENTS), args=st.lists(binary_values, max_size=3))
async def test_binary_attachments_anywhere_in_the_payload(fuzz_server, library_client, watch, event, args) -> None:
    client = library_client
    if not client.sio.connected:
        await client.connect()
    if client.peer_id is None:
        await client.join("fuzz-bin", "Bin")
    ack = await client.sio.call(event, tuple(args) if len(args) != 1 else args[0], timeout=10)
    assert_ack_shape(ack, event)
    if event == "join" and ack["ok"]:
        client.peer_id = ack["peerId"]
    if event == "leave" and ack["ok"]:
        client.peer_id = None
    await eventually_consistent(fuzz_server.app[SIGNALING_KEY])
    watch.check()
