"""The echo bot with a probe: the probe's own frames come back through the server."""

from __future__ import annotations

from noom.media.echo import EchoBot
from noom.media.probe import ProbeBot

from .helpers import Client, RunningServer
from .media_helpers import bot_credential
from .support import eventually


async def test_probe_gets_its_own_frames_back_through_the_echo_bot(server: RunningServer) -> None:
    key = bot_credential(server)
    echo = EchoBot(server.url, "echo-room", bot_credential=key)
    probe = ProbeBot(server.url, "echo-room", "probe", tone_hz=800, tag=7, width=320, height=240, bot_credential=key)
    await echo.start()
    await probe.start()
    try:
        await eventually(lambda: any(r.own_frames > 0 for r in probe.received.values()), "echoed frames", 30)
        probe.reset()
        await eventually(lambda: any(r.own_frames >= 60 for r in probe.received.values()), "60 echoed frames", 30)
        report = probe.report()
        [loop] = echo.loops.values()
        echo_report = await echo.report_for(loop)
    finally:
        await probe.stop()
        await echo.stop()
    [peer] = report.peers
    print("round trip through the echo bot:", peer.latency)
    print("echo bot's view of the probe:", echo_report)
    assert peer.tags == [7]
    assert peer.frame_number_regressions == 0
    assert peer.last_frame_number > peer.first_frame_number
    assert peer.latency is not None and peer.latency.count >= 60
    assert peer.tone_hz is not None and abs(peer.tone_hz - 800) < 20
    # What the server received from the probe, as the echo page would show it.
    assert echo_report.video is not None and (echo_report.video.width, echo_report.video.height) == (320, 240)
    assert echo_report.audio is not None and not echo_report.audio.silent


async def test_bot_keeps_its_offer_when_offers_collide(server: RunningServer) -> None:
    # A plain protocol client stands in for a browser whose offer crosses the bot's.
    key = bot_credential(server)
    browser = await Client(server.url).connect()
    await browser.join("glare", "Browser")
    bot = EchoBot(server.url, "glare", bot_credential=key)
    await bot.start()
    try:
        offer = await browser.next("offer", timeout=10)  # the newcomer offers
        assert offer["from"] == bot.peer_id and "m=video" in offer["sdp"]
        ack = await browser.call("offer", {"to": bot.peer_id, "sdp": "v=0 (a colliding offer)"})
        assert ack["ok"]
        # Impolite: the bot neither answers nor rolls back; its own offer stays pending. A bound, not a sentinel:
        # the bot is another socket that would answer on its own time, after its own WebRTC work.
        await browser.nothing("answer", within=1.0)
        assert bot.peers[browser.peer_id].pc.signalingState == "have-local-offer"
    finally:
        await bot.stop()
        await browser.close()
