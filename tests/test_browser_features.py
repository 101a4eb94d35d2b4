"""Browser features beyond the basic call: disconnects, screen share, room errors, devices, recording."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import av
from playwright.async_api import Page

from noom.app import SIGNALING_KEY

from .browser_fixtures import Browsers, assert_receiving, join, open_room, remote_tile, stats, tiles
from .fake_media import write_tone_wav
from .helpers import Client, RunningServer
from .support import eventually

PING_INTERVAL = 1.0
PING_TIMEOUT = 3.0  # short, but not so short that a loaded machine drops the healthy browsers too


async def _gone(page: Page, name: str) -> bool:
    return await remote_tile(page, name) is None


async def test_a_vanished_browser_leaves_within_the_ping_timeout(
    browsers: Browsers, make_server: Callable[..., Awaitable[RunningServer]]
) -> None:
    server = await make_server(ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT)
    alice, carol = await browsers.page("alice"), await browsers.page("carol")
    bob, bob_chromium = await browsers.separate_page("bob")
    for page, name in ((alice, "Alice"), (bob, "Bob"), (carol, "Carol")):
        await join(page, server.url, "lossy", name)
    await eventually(lambda: _count(alice, 3), "Alice sees three tiles")

    # Bob's machine goes dark (suspended): its socket stays open, only the server's ping timeout notices.
    signaling = server.app[SIGNALING_KEY]
    bob_chromium.suspend()
    limit = PING_INTERVAL + PING_TIMEOUT + 15  # the default timeouts would take 45 s

    async def dropped(name: str) -> bool:
        # Server first, then screen: should Alice's own socket blip meanwhile, her re-join must not count.
        in_server = any(session.name == name for session in signaling.sessions.values())
        return not in_server and await _gone(alice, name)

    await eventually(lambda: dropped("Bob"), "Bob's silent browser is dropped", timeout=limit)

    # Carol closes her browser without pressing Leave.
    await carol.context.close()
    await eventually(lambda: dropped("Carol"), "Carol's closed browser is dropped", timeout=limit)
    await eventually(lambda: _count(alice, 1), "Alice is alone on her stage")


async def _count(page: Page, n: int) -> bool:
    return len(await tiles(page)) == n


async def test_screen_share_shows_large_on_the_others_and_stops_from_the_browser(
    browsers: Browsers, server: RunningServer
) -> None:
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await join(alice, server.url, "present", "Alice")
    await join(bob, server.url, "present", "Bob")
    await assert_receiving(bob, "Alice")

    await alice.keyboard.press("s")
    await eventually(lambda: _featured(bob, "Alice"), "Bob sees Alice's screen as the large tile", timeout=15)
    await assert_receiving(bob, "Alice")  # the shared screen is playing, not a frozen camera frame
    assert await alice.get_by_role("button", name="Share screen").get_attribute("aria-pressed") == "true"

    # The browser's own "Stop sharing" ends the track; that must stop sharing everywhere.
    await alice.evaluate(
        "() => document.querySelector('.tile.self video').srcObject.getVideoTracks()[0]"
        ".dispatchEvent(new Event('ended'))"
    )
    await eventually(lambda: _not_featured(bob, "Alice"), "Alice's share ends on Bob's screen", timeout=15)
    assert await alice.get_by_role("button", name="Share screen").get_attribute("aria-pressed") == "false"
    await assert_receiving(bob, "Alice")  # back to her camera


async def _featured(page: Page, name: str) -> bool:
    tile = await remote_tile(page, name)
    return bool(tile and tile["featured"] and tile["screen"])


async def _not_featured(page: Page, name: str) -> bool:
    tile = await remote_tile(page, name)
    return bool(tile and not tile["featured"] and not tile["screen"])


async def test_wrong_password_and_full_room_say_so(
    browsers: Browsers, make_server: Callable[..., Awaitable[RunningServer]]
) -> None:
    server = await make_server(capacity=2)
    alice, bob, carol = [await browsers.page(n) for n in ("alice", "bob", "carol")]
    await join(alice, server.url, "secret", "Alice", password="hunter2")

    await open_room(bob, server.url, "secret", "Bob")
    await bob.locator("#join-password").wait_for(state="visible")  # the room is known to be locked
    await bob.fill("#join-password", "wrong")
    await bob.get_by_role("button", name="Join", exact=True).click()
    await bob.get_by_role("alert").filter(has_text="password is not right").wait_for()
    await bob.fill("#join-password", "hunter2")
    await bob.get_by_role("button", name="Join", exact=True).click()
    await bob.locator("#call").wait_for(state="visible")

    await open_room(carol, server.url, "secret", "Carol")
    await carol.fill("#join-password", "hunter2")
    await carol.get_by_role("button", name="Join", exact=True).click()
    await carol.get_by_role("alert").filter(has_text="This room is full").wait_for()
    assert await carol.locator("#call").is_hidden()


async def test_camera_switch_keeps_the_call_alive(browsers: Browsers, server: RunningServer) -> None:
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await join(alice, server.url, "switch", "Alice")
    await join(bob, server.url, "switch", "Bob")
    await assert_receiving(bob, "Alice")
    own_camera = "() => document.querySelector('.tile.self video').srcObject.getVideoTracks()[0].label"
    assert await alice.evaluate(own_camera) == "fake_device_0"

    await alice.get_by_role("button", name="Settings").click()
    other = "fake_device_2"  # fake_device_1 is a depth camera (Y16) that no video encoder takes
    # The panel lists the devices once the browser has enumerated them, a moment after it opens.
    await eventually(
        lambda: alice.locator("#call-camera option").all_text_contents(), "the camera picker is filled", 15
    )
    options = await alice.locator("#call-camera option").all_text_contents()
    assert other in options, options
    await alice.select_option("#call-camera", label=other)
    await eventually(
        lambda: alice.evaluate(
            "(want) => document.querySelector('.tile.self video').srcObject.getVideoTracks()[0].label === want", other
        ),
        "Alice's own view shows the other camera",
        timeout=15,
    )
    await assert_receiving(bob, "Alice")  # still decoding frames: no renegotiation, no dropped call
    tile = await remote_tile(bob, "Alice")
    assert (await stats(bob, tile["peerId"]))["state"] == "connected"


async def test_alone_in_a_call_hint_invite_and_recording(
    browsers: Browsers, server: RunningServer, tmp_path: Path
) -> None:
    # A microphone that hears a steady tone (the default fake one only beeps briefly now and then).
    tone = write_tone_wav(tmp_path / "tone.wav", 440.0, amplitude=0.5)
    alice, _ = await browsers.separate_page("alice", (f"--use-file-for-fake-audio-capture={tone}",))
    await alice.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    await join(alice, server.url, "rec", "Alice")

    # Talking while muted brings up the hint.
    await alice.keyboard.press("m")
    assert await alice.get_by_role("button", name="Microphone").get_attribute("aria-pressed") == "false"
    await alice.get_by_text("You are muted. Press M to talk.").wait_for()

    # Invite copies the room link.
    await alice.get_by_role("button", name="Invite").click()
    await alice.get_by_text("Invite link copied").wait_for()
    assert await alice.evaluate("() => navigator.clipboard.readText()") == f"{server.url}/r/rec"

    rec = alice.locator("#rec-indicator")
    assert await rec.is_hidden()

    recorder = await Client(server.url, server.bot_auth).connect()  # only the server's own bots may be bots
    try:
        await recorder.join("rec", "Recorder", kind="bot", role="recorder")
        await rec.wait_for(state="visible")
        assert len(await tiles(alice)) == 1  # a recorder has no tile of its own
        await recorder.call("leave", {})
        await rec.wait_for(state="hidden")
    finally:
        await recorder.close()

    # The Record button starts a real recorder bot, and stopping it posts a download link in the chat.
    record = alice.get_by_role("button", name="Record")
    await record.click()
    await rec.wait_for(state="visible", timeout=30_000)
    await alice.wait_for_timeout(3000)  # record a few seconds of the call
    await record.click()
    await rec.wait_for(state="hidden", timeout=30_000)
    if await alice.locator("#side-chat").is_hidden():
        await alice.keyboard.press("c")
    link = alice.locator("#chat-list a[href^='/recordings/']")
    await link.wait_for(timeout=30_000)
    href = await link.get_attribute("href")
    # A signed, expiring link to an unguessable name: /recordings/<144-bit stem>.<expiry>.<signature>.
    assert href and re.fullmatch(r"/recordings/[A-Za-z0-9_-]{24}\.[0-9]+\.[A-Za-z0-9_-]{24}", href), href
    response = await alice.request.get(server.url + href)
    assert response.ok and response.headers["content-type"] == "video/mp4"
    path = tmp_path / "recording.mp4"
    path.write_bytes(await response.body())
    with av.open(str(path)) as container:
        assert sorted(s.codec_context.name for s in container.streams) == ["aac", "h264"]
        assert container.duration / av.time_base >= 1.5


_DENIED = """navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Permission denied", "NotAllowedError");
};"""


def _without(kinds: str) -> str:
    """An init script that makes the page's machine lack some devices ("video" or "audio,video")."""
    return f"""(() => {{
  const missing = "{kinds}".split(",");
  const md = navigator.mediaDevices;
  const realGet = md.getUserMedia.bind(md);
  const realList = md.enumerateDevices.bind(md);
  md.getUserMedia = async (c) => {{
    if (missing.some((k) => c && c[k])) throw new DOMException("Requested device not found", "NotFoundError");
    return realGet(c);
  }};
  md.enumerateDevices = async () =>
    (await realList()).filter((d) => !missing.some((k) => d.kind === (k === "video" ? "videoinput" : "audioinput")));
}})();"""


async def test_no_camera_joins_with_audio_and_no_devices_joins_to_watch(
    browsers: Browsers, server: RunningServer
) -> None:
    alice, bob, carol = [await browsers.page(n) for n in ("alice", "bob", "carol")]
    await bob.add_init_script(_without("video"))
    await carol.add_init_script(_without("audio,video"))
    await join(alice, server.url, "gear", "Alice")

    await open_room(bob, server.url, "gear", "Bob")
    await bob.get_by_text("No camera found: you will join with audio only").wait_for()
    await bob.get_by_role("button", name="Join", exact=True).click()
    await open_room(carol, server.url, "gear", "Carol")
    await carol.get_by_text("No camera or microphone found: you can still join to watch and chat").wait_for()
    dora = await browsers.page("dora")
    await dora.add_init_script(_DENIED)
    await open_room(dora, server.url, "gear", "Dora")
    await dora.get_by_text("Noom is not allowed to use your camera or microphone").wait_for()
    await carol.get_by_role("button", name="Join", exact=True).click()

    await assert_receiving(carol, "Alice")  # Carol watches
    await eventually(lambda: _tile_state(alice, "Bob", muted=False, cam_off=True), "Bob shows as audio-only")
    await eventually(lambda: _tile_state(alice, "Carol", muted=True, cam_off=True), "Carol shows as watching")
    tile = await remote_tile(alice, "Bob")
    first = (await stats(alice, tile["peerId"]))["audioPackets"]
    await eventually(lambda: _audio_rises(alice, tile["peerId"], first), "Bob's audio reaches Alice", timeout=30)


async def _tile_state(page: Page, name: str, muted: bool, cam_off: bool) -> bool:
    found = await page.evaluate(
        """(name) => { const t = Array.from(document.querySelectorAll('#stage .tile'))
             .find((t) => t.querySelector('.name').textContent === name);
           return t ? { muted: !t.querySelector('.muted-icon').hidden, camOff: t.classList.contains('cam-off'),
                        avatar: t.querySelector('.avatar').textContent } : null; }""",
        name,
    )
    return bool(found and found["muted"] == muted and found["camOff"] == cam_off and found["avatar"] == name[0])


async def _audio_rises(page: Page, peer_id: str, first: int) -> bool:
    return (await stats(page, peer_id))["audioPackets"] > first


async def test_socket_reconnect_rejoins_and_calls_again(browsers: Browsers, server: RunningServer) -> None:
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await join(alice, server.url, "flaky", "Alice")
    await join(bob, server.url, "flaky", "Bob")
    await assert_receiving(alice, "Bob")
    old_id = (await remote_tile(alice, "Bob"))["peerId"]

    # Bob's transport drops (a network blip); Socket.IO reconnects by itself and the client must re-join.
    await bob.evaluate("() => window.noom.dropConnection()")

    async def rejoined() -> bool:
        tile = await remote_tile(alice, "Bob")
        return bool(tile and tile["peerId"] != old_id)

    await eventually(rejoined, "Bob is back in Alice's call under a new peer id")
    await assert_receiving(alice, "Bob")
    await assert_receiving(bob, "Alice")
    assert len(await tiles(alice)) == 2
