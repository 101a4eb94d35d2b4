"""TURN credentials in the join ack, checked by a real coturn: two aiortc peers restricted to relay
candidates connect through it, and wrong or expired credentials are refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun, turn
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from noom.cli import main
from noom.config import Config
from noom.signaling.turn import turn_ice_server

from .helpers import Client
from .services import TurnServer
from .support import eventually

SECRET = "correct horse battery staple"
in_namespace = pytest.mark.skipif(
    not os.environ.get("NOOM_TEST_NETNS"), reason="needs the test namespace's veth address (run scripts/test.sh)"
)


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[TurnServer]:
    server = TurnServer(tmp_path, SECRET).start()
    yield server
    server.stop()


class _Sink(asyncio.DatagramProtocol):
    pass


async def allocate(server: TurnServer, ice: dict[str, object]) -> bool:
    """One TURN allocation with these credentials; raises when coturn refuses them."""
    transport, _ = await asyncio.wait_for(
        turn.create_turn_endpoint(_Sink, (server.host, server.port), ice["username"], ice["credential"]), 5
    )
    transport.close()
    return True


def test_credentials_follow_the_turn_rest_api() -> None:
    ice = turn_ice_server(["turn:turn.example:3478"], "s3cret", 600, "peer-1", now=1_000_000)
    assert ice["username"] == "1000600:peer-1"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1000600:peer-1", hashlib.sha1).digest()).decode()
    assert ice["credential"] == expected
    assert ice["urls"] == ["turn:turn.example:3478"]


async def test_join_ack_carries_per_peer_credentials_but_never_the_secret(make_server, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server = await make_server(
        ice_servers=[{"urls": "stun:10.99.0.1:3478"}],
        turn_urls=["turn:10.99.0.1:3478"],
        turn_secret=SECRET,
        turn_ttl=120,
    )
    alice, bob = await Client(server.url).connect(), await Client(server.url).connect()
    try:
        a = await alice.join("turn-room", "Alice")
        b = await bob.join("turn-room", "Bob")
    finally:
        await alice.close()
        await bob.close()
    assert a["iceServers"][0] == {"urls": "stun:10.99.0.1:3478"}
    turn_a, turn_b = a["iceServers"][1], b["iceServers"][1]
    expiry, peer = turn_a["username"].split(":")
    assert peer == a["peerId"] and turn_b["username"].endswith(":" + b["peerId"])
    assert 0 < int(expiry) - time.time() <= 120
    assert turn_a["credential"] != turn_b["credential"]
    assert SECRET not in repr(a) + repr(b) + caplog.text + repr(server.config)


def test_turn_flags_are_checked(capsys) -> None:
    assert main(["serve", "--turn-urls", "turn:10.99.0.1:3478"]) == 2
    assert "--turn-secret" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve", "--turn-urls", "http://10.99.0.1:3478", "--turn-secret", "x"])
    assert "is not a TURN URL" in capsys.readouterr().err


@in_namespace
async def test_wrong_or_expired_credentials_are_refused(coturn: TurnServer) -> None:
    good = turn_ice_server([coturn.url], SECRET, 600, "peer-ok")
    await eventually(lambda: allocate(coturn, good), what="coturn allocating with good credentials")
    wrong = turn_ice_server([coturn.url], "not the secret", 600, "peer-wrong")
    expired = turn_ice_server([coturn.url], SECRET, 600, "peer-old", now=time.time() - 3600)
    for ice in (wrong, expired):
        with pytest.raises(stun.TransactionFailed, match="401"):
            await allocate(coturn, ice)


def _relay_only(config: list[dict[str, object]]) -> RTCConfiguration:
    servers = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in config]
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)


@in_namespace
async def test_two_aiortc_peers_talk_through_coturn(coturn: TurnServer, make_server) -> None:
    server = await make_server(turn_urls=[coturn.url], turn_secret=SECRET, turn_ttl=300)
    alice, bob = await Client(server.url).connect(), await Client(server.url).connect()
    pcs: list[RTCPeerConnection] = []
    try:
        await eventually(
            lambda: allocate(coturn, turn_ice_server([coturn.url], SECRET, 60, "probe")),
            what="coturn up",
        )
        ack_a = await alice.join("relay", "Alice")
        ack_b = await bob.join("relay", "Bob")
        pc_a, pc_b = (
            RTCPeerConnection(_relay_only(ack_a["iceServers"])),
            RTCPeerConnection(_relay_only(ack_b["iceServers"])),
        )
        pcs += [pc_a, pc_b]
        received: asyncio.Queue[str] = asyncio.Queue()

        @pc_b.on("datachannel")
        def on_channel(channel) -> None:
            channel.on("message", lambda message: channel.send("pong:" + message))

        channel = pc_a.createDataChannel("chat")
        channel.on("message", received.put_nowait)
        opened = asyncio.Event()
        channel.on("open", opened.set)

        # Bob, the newcomer, would offer per the protocol; the direction does not matter for TURN.
        await pc_a.setLocalDescription(await pc_a.createOffer())
        offer_sdp = pc_a.localDescription.sdp
        assert (await alice.call("offer", {"to": ack_b["peerId"], "sdp": offer_sdp}))["ok"]
        offer = await bob.next("offer")
        await pc_b.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc_b.setLocalDescription(await pc_b.createAnswer())
        assert (await bob.call("answer", {"to": ack_a["peerId"], "sdp": pc_b.localDescription.sdp}))["ok"]
        answer = await alice.next("answer")
        await pc_a.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

        # Only relayed candidates, all on coturn's relay address.
        for sdp in (offer_sdp, answer["sdp"]):
            candidates = re.findall(r"a=candidate:.*", sdp)
            assert candidates and all(" typ relay" in c and coturn.host in c for c in candidates), candidates

        await asyncio.wait_for(opened.wait(), 30)
        channel.send("ping")
        assert await asyncio.wait_for(received.get(), 15) == "pong:ping"
    finally:
        for pc in pcs:
            await pc.close()
        await alice.close()
        await bob.close()


async def test_turn_credentials_last_ten_minutes_by_default(make_server) -> None:
    # A day-long credential outlives any call it was made for; clients refresh before expiry (ice-servers).
    assert Config().turn_ttl == 600
    server = await make_server(turn_urls=["turn:127.0.0.1:3478"], turn_secret=SECRET)  # the default TTL
    client = await Client(server.url).connect()
    ack = await client.join("relay")
    relay = next(s for s in ack["iceServers"] if s.get("username"))
    expiry = int(relay["username"].split(":")[0])
    assert time.time() + 590 <= expiry <= time.time() + 601
    await client.close()
