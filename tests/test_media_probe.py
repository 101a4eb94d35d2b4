"""Probes through the real server: real WebRTC, codecs and packets over the namespace's veth addresses."""

from __future__ import annotations

import asyncio

from noom.media.probe import ProbeBot, ProbeReport

from .helpers import RunningServer
from .media_helpers import bot_credential
from .support import eventually


def peer_report(report: ProbeReport, name: str):
    [peer] = [p for p in report.peers if p.name == name]
    return peer


async def test_two_probes_see_and_hear_each_other(server: RunningServer) -> None:
    # 160x120: the frame rate is the point here, and smaller frames leave CPU headroom on a busy machine.
    key = bot_credential(server)
    a = ProbeBot(server.url, "probes", "probe-a", tone_hz=600, tag=1, width=160, height=120, bot_credential=key)
    b = ProbeBot(server.url, "probes", "probe-b", tone_hz=1100, tag=2, width=160, height=120, bot_credential=key)
    await a.start()
    await b.start()
    try:
        # Measure from the moment media flows both ways, over 5 s.
        await eventually(
            lambda: all(any(r.stamped > 0 for r in p.received.values()) for p in (a, b)), "first frames", 30
        )
        a.reset()
        b.reset()
        await asyncio.sleep(5)
        ra, rb = a.report(), b.report()
    finally:
        await b.stop()
        await a.stop()
    for report, other, tone, tag in ((ra, "probe-b", 1100, 2), (rb, "probe-a", 600, 1)):
        peer = peer_report(report, other)
        print(report.name, "from", other, peer)
        assert peer.tags == [tag]
        assert peer.fps >= 20, peer
        assert peer.frame_number_regressions == 0
        assert peer.tone_hz is not None and abs(peer.tone_hz - tone) < 20, peer


async def test_probe_rejoins_after_its_socket_is_dropped(server: RunningServer) -> None:
    key = bot_credential(server)
    a = ProbeBot(server.url, "drop", "probe-a", tone_hz=600, tag=1, width=160, height=120, fps=15, bot_credential=key)
    b = ProbeBot(server.url, "drop", "probe-b", tone_hz=1100, tag=2, width=160, height=120, fps=15, bot_credential=key)
    await a.start()
    await b.start()
    try:
        await eventually(lambda: any(r.stamped for r in a.received.values()), "frames from b", 30)
        old_id = b.peer_id
        await b.sio.eio.ws.close()  # the WebSocket breaks without a goodbye, as when the network drops
        # b reconnects, joins again as a newcomer and offers to a; a sees the new b's frames.
        await eventually(lambda: b.peer_id != old_id, "b to join again", 30)
        await eventually(lambda: a.received.get(b.peer_id) and a.received[b.peer_id].stamped > 10, "new b's frames", 30)
        assert old_id not in a.peers  # the dropped connection was closed
    finally:
        await b.stop()
        await a.stop()
