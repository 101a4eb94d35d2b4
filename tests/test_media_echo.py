"""The echo bot with a probe: the probe's own frames come back through the server."""

from __future__ import annotations

from media.echo import EchoBot
from media.probe import ProbeBot

from .helpers import RunningServer
from .media_helpers import wait_until


async def test_probe_gets_its_own_frames_back_through_the_echo_bot(server: RunningServer) -> None:
    echo = EchoBot(server.url, "echo-room")
    probe = ProbeBot(server.url, "echo-room", "probe", tone_hz=800, tag=7, width=320, height=240)
    await echo.start()
    await probe.start()
    try:
        await wait_until(lambda: any(r.own_frames > 0 for r in probe.received.values()), 30, "echoed frames")
        probe.reset()
        await wait_until(lambda: any(r.own_frames >= 60 for r in probe.received.values()), 30, "60 echoed frames")
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
