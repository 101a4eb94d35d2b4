"""Faults under a live call (issue 7, item 6; docs/faults.md): a browser offline and back, the media path cut
(ICE restart), the server killed and restarted, a bot killed, Redis restarted under two processes.

Recovery bounds are the issue's requirements and are measured from the moment the fault ends; setting a
call up beforehand gets the usual generous timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from playwright.async_api import Page

from .browser_fixtures import (
    Browsers,
    assert_receiving,
    flowing,
    has_chat,
    join,
    remote_tile,
    resumed_within,
    send_chat,
    stats,
)
from .helpers import TEST_SERVER_SECRET, Client, RunningServer
from .services import ROOT, NoomProcess, RedisServer
from .support import eventually

RECOVERY_S = 10.0  # issue 7: the call resumes within 10 s of the fault's end


async def _call(alice: Page, bob: Page, url: str | tuple[str, str], room: str) -> None:
    """Alice and Bob in one call, each seeing and hearing the other."""
    urls = (url, url) if isinstance(url, str) else url
    await join(alice, urls[0], room, "Alice")
    await join(bob, urls[1], room, "Bob")
    await assert_receiving(alice, "Bob")
    await assert_receiving(bob, "Alice")


async def _reconnecting(page: Page) -> bool:
    return await page.locator("#conn-banner").is_visible()


async def _peer_id(page: Page, name: str) -> str:
    tile = await remote_tile(page, name)
    assert tile, f"no tile for {name}"
    return tile["peerId"]


async def test_browser_offline_and_back_resumes_the_call(browsers: Browsers, server: RunningServer) -> None:
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await _call(alice, bob, server.url, "offline")
    old_bob = await _peer_id(alice, "Bob")

    # Chromium's offline emulation closes Bob's websocket (the server tells Alice at once, and she hangs up
    # on him) but does not touch WebRTC's UDP: what brings the call back is Socket.IO's reconnect and the
    # client's re-join, not ICE (the next test covers ICE restart).
    await bob.context.set_offline(True)
    await eventually(lambda: _reconnecting(bob), "Bob's page says it is reconnecting")
    await eventually(lambda: _no_tile(alice, "Bob"), "Bob's tile leaves Alice's stage")
    await asyncio.sleep(3)  # the outage itself: a few failed reconnect attempts stretch the back-off
    await bob.context.set_offline(False)
    took = await resumed_within([(alice, "Bob", old_bob), (bob, "Alice", None)], time.monotonic(), RECOVERY_S)

    print(f"offline and back: call resumed {took:.1f}s after coming back online")
    assert await _peer_id(alice, "Bob") != old_bob  # Bob re-joined as a new peer
    assert not await _reconnecting(bob)


@contextlib.contextmanager
def _udp_blocked() -> Iterator[None]:
    """Drop every UDP packet sent in this network namespace, while TCP (and so signaling on 127.0.0.1) keeps
    working. The browsers' media between the veth addresses is local traffic, routed by the ``local`` table
    whose rule comes first; a blackhole rule for UDP goes in front of it (tc's drop action is not built
    into this kernel)."""
    if os.environ.get("NOOM_TEST_NETNS") != "1":
        pytest.skip("changes the routing rules: only inside scripts/test.sh's own network namespace")
    cut = ["add pref 10 ipproto udp blackhole", "add pref 100 lookup local", "del pref 0"]
    mend = ["add pref 0 lookup local", "del pref 100", "del pref 10"]
    try:
        for family in ("-4", "-6"):
            for command in cut:
                subprocess.run(["ip", family, "rule", *command.split()], check=True, capture_output=True)
        yield
    finally:
        for family in ("-4", "-6"):
            for command in mend:
                subprocess.run(["ip", family, "rule", *command.split()], check=False, capture_output=True)


async def test_media_path_cut_restarts_ice_and_recovers(browsers: Browsers, server: RunningServer) -> None:
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await _call(alice, bob, server.url, "ice-restart")
    ids = {"alice": await _peer_id(alice, "Bob"), "bob": await _peer_id(bob, "Alice")}
    before = {
        "alice": (await stats(alice, ids["alice"]))["iceUfrag"],
        "bob": (await stats(bob, ids["bob"]))["iceUfrag"],
    }
    assert all(before.values())

    async def restarted() -> bool:
        counts = [(await stats(alice, ids["alice"]))["iceRestarts"], (await stats(bob, ids["bob"]))["iceRestarts"]]
        return max(counts) >= 1

    # Media stops; signaling does not. A connection left "disconnected" past its grace time restarts ICE.
    with _udp_blocked():
        await eventually(restarted, "a browser restarts ICE while the media path is cut", timeout=45)
    pairs = [(alice, "Bob", None), (bob, "Alice", None)]
    took = await resumed_within(pairs, time.monotonic(), RECOVERY_S)

    print(f"media path cut: ICE restarted, video resumed {took:.1f}s after the path came back")
    # The same peers on the same connections, under new ICE credentials: restarted, not re-joined.
    assert {"alice": await _peer_id(alice, "Bob"), "bob": await _peer_id(bob, "Alice")} == ids
    after = {
        "alice": (await stats(alice, ids["alice"]))["iceUfrag"],
        "bob": (await stats(bob, ids["bob"]))["iceUfrag"],
    }
    assert after["alice"] != before["alice"] and after["bob"] != before["bob"]


async def test_server_killed_and_restarted_under_a_call(browsers: Browsers, tmp_path: Path) -> None:
    noom = NoomProcess(log=tmp_path / "noom.log")
    try:
        await noom.start()
        alice, bob = await browsers.page("alice"), await browsers.page("bob")
        await _call(alice, bob, noom.url, "phoenix")

        old = [(alice, "Bob", await _peer_id(alice, "Bob")), (bob, "Alice", await _peer_id(bob, "Alice"))]

        noom.signal(signal.SIGKILL)
        assert noom.proc is not None
        await asyncio.to_thread(noom.proc.wait, 10)
        for page in (alice, bob):
            await eventually(lambda page=page: _reconnecting(page), "the page says it is reconnecting")
        # Media is peer-to-peer: it keeps flowing while the server is down.
        for page, name, _ in old:
            assert await flowing(page, name), f"{name}'s video stopped while the server was down"
        await noom.start()  # the same port, empty: this server keeps rooms in memory
        # Both re-join the new server (as new peers) and call each other afresh.
        took = await resumed_within(old, time.monotonic(), RECOVERY_S)
        print(f"server killed and restarted: call resumed {took:.1f}s after the server was back")
        for page in (alice, bob):
            assert not await _reconnecting(page)
    finally:
        noom.stop()


async def test_killed_bot_leaves_the_room(
    browsers: Browsers, make_server: Callable[..., Awaitable[RunningServer]], tmp_path: Path
) -> None:
    ping_interval, ping_timeout = 1.0, 2.0
    server = await make_server(ping_interval=ping_interval, ping_timeout=ping_timeout)
    alice = await browsers.page("alice")
    await join(alice, server.url, "bots", "Alice")
    watcher = await Client(server.url).connect()
    log = (tmp_path / "bot.log").open("wb")
    bot = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "noom.cli",
            "bot",
            "echo",
            "--url",
            server.url,
            "--room",
            "bots",
            "--name",
            "Echo",
            "--server-secret",
            TEST_SERVER_SECRET,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        await watcher.join("bots", "Watcher")
        joined = await watcher.next("peer-joined", timeout=60)
        assert joined["name"] == "Echo"
        await assert_receiving(alice, "Echo", timeout=60)  # Alice sees herself echoed: the bot is in the call

        os.killpg(bot.pid, signal.SIGKILL)
        killed = time.monotonic()
        bound = ping_interval + ping_timeout  # the worst case: a socket that just goes silent
        gone = await watcher.next("peer-left", timeout=bound)
        assert gone == {"peerId": joined["peerId"], "reason": "disconnected"}
        left = killed + bound - time.monotonic()
        await eventually(lambda: _no_tile(alice, "Echo"), "Echo's tile leaves Alice's stage", left)
        print(f"bot killed: gone from the room and the page {time.monotonic() - killed:.1f}s later")
    finally:
        if bot.returncode is None:
            os.killpg(bot.pid, signal.SIGKILL)
        await asyncio.wait_for(bot.wait(), 10)
        log.close()
        await watcher.close()


async def _no_tile(page: Page, name: str) -> bool:
    return await remote_tile(page, name) is None


async def test_redis_restart_under_a_call_on_two_processes(
    browsers: Browsers, redis_server: RedisServer, noom_processes: Callable[..., NoomProcess]
) -> None:
    redis = redis_server
    a, b = noom_processes("--redis-url", redis.url), noom_processes("--redis-url", redis.url)
    await a.start()
    await b.start()
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await _call(alice, bob, (a.url, b.url), "cross")  # Alice on process A, Bob on process B
    ids = (await _peer_id(alice, "Bob"), await _peer_id(bob, "Alice"))

    redis.stop()
    await eventually(lambda: _unhealthy(a), "A's /healthz reports Redis down")
    # The call is peer-to-peer: its media does not pass through Redis and keeps flowing.
    for page, name in ((alice, "Bob"), (bob, "Alice")):
        assert await flowing(page, name), f"{name}'s video stopped while Redis was down"

    redis.start()  # the same port, empty (no persistence)
    for process in (a, b):
        await eventually(process.healthy, "/healthz healthy again (reconnected, peers restored)", timeout=60)
    await eventually(lambda: _subscribed(redis.url, 2), "both processes re-subscribed to the queue", timeout=60)

    # Signaling works again across the two processes: mute and chat reach the other side.
    await bob.get_by_role("button", name="Microphone").click()
    await eventually(lambda: _muted(alice, "Bob"), "Alice sees Bob muted", timeout=10)
    await send_chat(alice, "still with you?")
    await eventually(lambda: has_chat(bob, "still with you?"), "Bob gets Alice's chat", timeout=10)
    # Nobody was dropped: the same peers, still in the same call with media flowing.
    assert (await _peer_id(alice, "Bob"), await _peer_id(bob, "Alice")) == ids
    for page, name in ((alice, "Bob"), (bob, "Alice")):
        assert await flowing(page, name)


async def _unhealthy(process: NoomProcess) -> bool:
    status, _ = await process.health()
    return status == 503


async def _subscribed(url: str, count: int) -> bool:
    client = aioredis.Redis.from_url(url)
    try:
        channels = await client.pubsub_numsub("noom-socketio")
        return channels[0][1] >= count
    finally:
        await client.aclose()


async def _muted(page: Page, name: str) -> bool:
    tile = await remote_tile(page, name)
    return bool(tile and tile["muted"])


async def test_a_quiet_socket_stays_connected(
    make_server: Callable[..., Awaitable[RunningServer]], tmp_path: Path
) -> None:
    """Pings (written straight to the websocket) keep a socket that has nothing else to say alive: the
    writer used to give up on its quiet queue after ping interval + timeout and close the connection."""
    server = await make_server(ping_interval=0.5, ping_timeout=1.5)
    alice, bob = Client(server.url), Client(server.url)
    try:
        await (await alice.connect()).join("quiet", "Alice")
        await (await bob.connect()).join("quiet", "Bob")
        await bob.nothing("peer-left", within=5.0)  # more than twice interval + timeout, in silence
        assert alice.sio.connected and bob.sio.connected
    finally:
        await alice.close()
        await bob.close()
