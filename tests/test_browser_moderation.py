"""The host in real Chromium (issue 10): remove, mute and ask to unmute, the waiting room and the lock, host
hand-over, recording as a room event, TURN credentials refreshed mid-call, and a removal across two
``noom serve`` processes on one Redis. Everything is checked as the people see it: text, tiles, icons, tracks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Locator, Page

from noom.app import SIGNALING_KEY
from noom.bots import EchoRoom
from noom.protocol import ProtocolError

from .browser_fixtures import Browsers, assert_receiving, join, open_room, remote_tile
from .helpers import Client, RunningServer
from .services import NoomProcess, RedisServer
from .support import eventually

# ---- what a person sees ------------------------------------------------------------------------------


async def open_people(page: Page) -> None:
    """Open the People panel (the host's actions are in it), as a person would."""
    if await page.locator("#side-people").is_hidden():
        await page.locator("#btn-people").click()
    await page.locator("#side-people").wait_for(state="visible")


def person(page: Page, label: str) -> Locator:
    """One row of the People panel: ``"Alice (you)"`` or ``"Bob"``."""
    return page.locator("#people-list li").filter(has=page.locator(".person-name").get_by_text(label, exact=True))


async def is_host_on(page: Page, label: str) -> bool:
    """``page`` shows the Host badge on ``label``'s row."""
    return await person(page, label).locator(".host-badge").is_visible()


async def has_host_controls(page: Page) -> bool:
    return await page.get_by_role("group", name="Host controls").is_visible()


async def local_tracks(page: Page) -> dict[str, Any]:
    return await page.evaluate("() => window.noom.localTracks()")


async def mic_enabled(page: Page, want: bool) -> bool:
    audio = (await local_tracks(page))["audio"]
    return bool(audio) and audio["enabled"] is want and audio["readyState"] == "live"


async def tile_state(page: Page, name: str, *, muted: bool | None = None, cam_off: bool | None = None) -> bool:
    tile = await remote_tile(page, name)
    if tile is None:
        return False
    cam = await page.locator(f'#stage .tile[data-peer-id="{tile["peerId"]}"]').evaluate(
        "(t) => t.classList.contains('cam-off')"
    )
    return (muted is None or tile["muted"] is muted) and (cam_off is None or cam is cam_off)


async def present(page: Page, name: str) -> bool:
    return await remote_tile(page, name) is not None


async def gone(page: Page, name: str) -> bool:
    return await remote_tile(page, name) is None


async def pressed(button: Locator, want: bool) -> bool:
    return await button.get_attribute("aria-pressed") == str(want).lower()


async def press_join(page: Page) -> None:
    await page.get_by_role("button", name="Join", exact=True).click()


async def confirm(page: Page, answer: str) -> None:
    """Press ``answer`` in the page's confirmation dialog."""
    await page.get_by_role("dialog").get_by_role("button", name=answer, exact=True).click()


def sessions_named(server: RunningServer, name: str) -> list[Any]:
    return [s for s in server.app[SIGNALING_KEY].sessions.values() if s.name == name]


# ---- remove -----------------------------------------------------------------------------------------


async def test_the_host_removes_someone_who_sees_why_and_cannot_rejoin_at_once(
    browsers: Browsers, server: RunningServer
) -> None:
    alice, bob, carol = [await browsers.page(n) for n in ("alice", "bob", "carol")]
    for page, name in ((alice, "Alice"), (bob, "Bob"), (carol, "Carol")):
        await join(page, server.url, "moderated", name)
    for page in (alice, carol):
        await eventually(lambda page=page: present(page, "Bob"), "Bob's tile is on the stage")

    await open_people(alice)
    await alice.get_by_role("button", name="Remove Bob").click()
    await alice.get_by_role("dialog").get_by_text("Remove Bob?").wait_for()
    await confirm(alice, "Cancel")  # a slip of the finger removes nobody
    assert await alice.get_by_role("dialog").count() == 0
    await alice.get_by_role("button", name="Remove Bob").click()
    await confirm(alice, "Remove")

    await bob.get_by_text("The host removed you from the call.").wait_for()
    assert await bob.locator("#call").is_hidden()
    for page, who in ((alice, "Alice"), (carol, "Carol")):
        await eventually(lambda page=page: gone(page, "Bob"), f"Bob's tile leaves {who}'s stage", timeout=10)
    await carol.get_by_text("Bob was removed from the call").wait_for()
    # The server closed Bob's socket on purpose: his page does not reconnect and re-join by itself.
    assert not sessions_named(server, "Bob")

    # Rejoin asks the server, which refuses him for a while and says why.
    await bob.get_by_role("button", name="Rejoin").click()
    refusal = bob.locator("#join-error")
    await refusal.filter(has_text="the host removed you from this call").wait_for()
    assert (await refusal.text_content() or "").startswith("You cannot join this call now")
    assert await bob.locator("#call").is_hidden()
    assert not sessions_named(server, "Bob")
    assert await present(alice, "Carol") and await gone(alice, "Bob")


# ---- mute, ask to unmute, stop camera -------------------------------------------------------------------


async def test_the_host_mutes_someone_and_only_they_can_unmute(browsers: Browsers, server: RunningServer) -> None:
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await join(alice, server.url, "quiet", "Alice")
    await join(bob, server.url, "quiet", "Bob")
    await eventually(lambda: tile_state(alice, "Bob", muted=False, cam_off=False), "Alice sees Bob's live tile")
    assert await mic_enabled(bob, True)

    await open_people(alice)
    await alice.get_by_role("button", name="Mute Bob").click()
    await bob.get_by_text("The host muted your microphone").wait_for()
    await eventually(lambda: mic_enabled(bob, False), "Bob's microphone track is disabled")
    assert await bob.get_by_role("button", name="Microphone").get_attribute("aria-pressed") == "false"
    await eventually(lambda: tile_state(alice, "Bob", muted=True), "Alice sees Bob's muted icon", timeout=10)

    # Nobody can turn Bob's microphone on for him: the host can only ask, and Bob decides.
    assert await alice.get_by_role("button", name="Unmute Bob").count() == 0
    await alice.get_by_role("button", name="Ask Bob to unmute").click()
    ask = bob.locator(".toast").filter(has_text="The host asks you to unmute your microphone")
    await ask.get_by_role("button", name="Unmute").click()
    await eventually(lambda: mic_enabled(bob, True), "Bob's microphone is on again")
    await eventually(lambda: tile_state(alice, "Bob", muted=False), "Alice sees Bob unmuted", timeout=10)

    # The camera: stopped for real (its light goes out), and Alice sees Bob's avatar instead.
    await alice.get_by_role("button", name="Stop Bob's camera").click()
    await bob.get_by_text("The host turned off your camera").wait_for()
    await eventually(lambda: _camera_stopped(bob), "Bob's camera is stopped")
    await eventually(lambda: tile_state(alice, "Bob", cam_off=True), "Alice sees Bob's camera off", timeout=10)

    # Bob sees who the host is, and has no host actions of his own.
    await open_people(bob)
    await eventually(lambda: is_host_on(bob, "Alice"), "Bob sees the Host badge on Alice")
    assert not await is_host_on(bob, "Bob (you)")
    assert not await has_host_controls(bob)
    assert await bob.get_by_role("button", name="Mute Alice").count() == 0


async def _camera_stopped(page: Page) -> bool:
    tracks = await local_tracks(page)
    return (
        tracks["video"] is None
        and await page.get_by_role("button", name="Camera").get_attribute("aria-pressed") == "false"
    )


# ---- waiting room and lock ----------------------------------------------------------------------------


async def test_waiting_room_admit_decline_cancel_and_lock(browsers: Browsers, server: RunningServer) -> None:
    alice, bob, carol = [await browsers.page(n) for n in ("alice", "bob", "carol")]
    await join(alice, server.url, "lobby-door", "Alice")
    await open_people(alice)
    waiting_room = alice.get_by_role("button", name="Waiting room")
    await waiting_room.click()
    await eventually(lambda: pressed(waiting_room, True), "the waiting room is on")
    await alice.locator("#waiting-room-indicator").wait_for()

    # Bob knocks: he waits on the pre-join page, Alice is told and lets him in.
    await open_room(bob, server.url, "lobby-door", "Bob")
    await press_join(bob)
    await bob.get_by_text("Waiting for the host to let you in…").wait_for()
    assert await bob.locator("#call").is_hidden()
    await alice.locator(".toast").filter(has_text="Bob is waiting to join").wait_for()
    queue = alice.locator("#waiting-list")
    await queue.get_by_role("button", name="Admit Bob").click()
    await bob.locator("#call").wait_for(state="visible")
    await eventually(lambda: present(alice, "Bob"), "Bob's tile is on Alice's stage")
    await eventually(lambda: present(bob, "Alice"), "Alice's tile is on Bob's stage")

    # Carol knocks and is declined: she is told so, and stays out.
    await open_room(carol, server.url, "lobby-door", "Carol")
    await press_join(carol)
    await carol.get_by_text("Waiting for the host to let you in…").wait_for()
    await queue.get_by_role("button", name="Decline Carol").click()
    await carol.get_by_role("alert").filter(has_text="The host did not let you in").wait_for()
    assert await carol.locator("#call").is_hidden()
    await alice.locator("#waiting-section").wait_for(state="hidden")

    # Carol knocks again and gives up: she leaves Alice's queue.
    await press_join(carol)
    await queue.get_by_role("button", name="Admit Carol").wait_for()
    await carol.get_by_role("button", name="Cancel").click()
    await carol.get_by_role("button", name="Join", exact=True).wait_for()
    await alice.locator("#waiting-section").wait_for(state="hidden")

    # Locked: nobody new gets in, and everyone in the call sees the lock.
    await waiting_room.click()
    await eventually(lambda: pressed(waiting_room, False), "the waiting room is off")
    await alice.get_by_role("button", name="Lock room").click()
    for page in (alice, bob):
        await page.locator("#lock-indicator").filter(has_text="Locked").wait_for()
    await press_join(carol)
    await carol.get_by_role("alert").filter(has_text="The host has locked this room").wait_for()
    assert await carol.locator("#call").is_hidden()
    await alice.get_by_role("button", name="Unlock room").click()
    await bob.locator("#lock-indicator").wait_for(state="hidden")
    await press_join(carol)
    await carol.locator("#call").wait_for(state="visible")
    await eventually(lambda: present(alice, "Carol"), "Carol's tile is on Alice's stage")


# ---- end for everyone; a blip into a waiting room ---------------------------------------------------------


async def test_a_blip_into_a_waiting_room_then_the_host_ends_the_call(
    browsers: Browsers, server: RunningServer
) -> None:
    alice, bob, carol = [await browsers.page(n) for n in ("alice", "bob", "carol")]
    for page, name in ((alice, "Alice"), (bob, "Bob"), (carol, "Carol")):
        await join(page, server.url, "ending", name)
    await eventually(lambda: present(alice, "Carol"), "Carol's tile is on Alice's stage")
    await open_people(alice)
    waiting_room = alice.get_by_role("button", name="Waiting room")
    await waiting_room.click()
    await eventually(lambda: pressed(waiting_room, True), "the waiting room is on")

    # Carol's network blips: her page re-joins by itself, meets the waiting room, and says so rather than
    # waiting unseen in the host's queue.
    await carol.evaluate("() => window.noom.dropConnection()")
    await carol.get_by_text("the host now lets people in from a waiting room").wait_for()
    await eventually(lambda: gone(alice, "Carol"), "Carol's tile leaves Alice's stage")
    await alice.locator("#waiting-section").wait_for(state="hidden")
    # Rejoin asks the host, who lets her in.
    await carol.get_by_role("button", name="Rejoin").click()
    await carol.get_by_text("Waiting for the host to let you in…").wait_for()
    await alice.locator("#waiting-list").get_by_role("button", name="Admit Carol").click()
    await carol.locator("#call").wait_for(state="visible")
    await eventually(lambda: present(alice, "Carol"), "Carol is back on Alice's stage")

    await alice.get_by_role("button", name="End call for everyone").click()
    await confirm(alice, "End call for everyone")
    for page in (bob, carol):
        await page.get_by_text("The host ended the call for everyone.").wait_for()
        assert await page.locator("#call").is_hidden()
    await alice.get_by_text("You ended the call for everyone.").wait_for()
    await eventually(lambda: _no_sessions(server), "nobody is left in a call on the server")


async def _no_sessions(server: RunningServer) -> bool:
    return not server.app[SIGNALING_KEY].sessions


# ---- host hand-over -----------------------------------------------------------------------------------


async def test_the_host_role_passes_on_when_the_host_leaves_and_by_hand(
    browsers: Browsers, server: RunningServer
) -> None:
    alice, bob, carol = [await browsers.page(n) for n in ("alice", "bob", "carol")]
    for page, name in ((alice, "Alice"), (bob, "Bob"), (carol, "Carol")):
        await join(page, server.url, "handover", name)
        await open_people(page)
    await eventually(lambda: is_host_on(alice, "Alice (you)"), "Alice sees herself as host")
    assert await has_host_controls(alice)
    for page in (bob, carol):
        await eventually(lambda page=page: is_host_on(page, "Alice"), "the others see Alice as host")
        assert not await has_host_controls(page)
        assert await page.get_by_role("button", name="Remove Carol").count() == 0

    # The host leaves: Bob, the longest present, takes over.
    await alice.get_by_role("button", name="Leave").click()
    await eventually(lambda: is_host_on(bob, "Bob (you)"), "Bob sees the Host badge on himself")
    await bob.get_by_text("You are now the host").wait_for()
    await eventually(lambda: has_host_controls(bob), "Bob sees the host controls")
    await bob.get_by_role("button", name="Remove Carol").wait_for()
    await eventually(lambda: is_host_on(carol, "Bob"), "Carol sees Bob as host")
    assert not await has_host_controls(carol)

    # Bob hands it to Carol.
    await bob.get_by_role("button", name="Make Carol host").click()
    await eventually(lambda: is_host_on(carol, "Carol (you)"), "Carol sees the Host badge on herself")
    await eventually(lambda: has_host_controls(carol), "Carol sees the host controls")
    await carol.get_by_role("button", name="Mute Bob").wait_for()
    await eventually(lambda: _not(has_host_controls(bob)), "Bob's host controls are gone")
    assert await bob.get_by_role("button", name="Remove Carol").count() == 0


async def _not(check: Awaitable[bool]) -> bool:
    return not await check


# ---- recording as a room event ------------------------------------------------------------------------


class StandInRecorders:
    """A BotLauncher whose recorder is a protocol client: it joins as the server's own recorder bot and leaves on
    ``recording-stop``, as media's recorder does once its file is saved. The browser sees the same events; the
    real recorder and its file are media's tests (test_media_browser_recording.py)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.bots: list[Client] = []
        self.stopping: set[asyncio.Task[None]] = set()

    async def start_recorder(self, server_url: str, room: str) -> None:
        bot = await Client(self.server.url, auth=self.server.bot_auth).connect()
        self.bots.append(bot)

        async def stop(_: Any = None) -> None:
            task = asyncio.ensure_future(self._leave(bot))  # not inside the handler: it waits for an ack
            self.stopping.add(task)
            task.add_done_callback(self.stopping.discard)

        bot.sio.on("recording-stop", stop)
        await bot.join(room, "Recorder", kind="bot", role="recorder")

    async def _leave(self, bot: Client) -> None:
        await bot.call("leave", {})
        await bot.close()

    async def start_echo(self, server_url: str, sid: str, address: str) -> EchoRoom:
        raise ProtocolError("busy", "no echo tests here")

    async def end_echo(self, sid: str) -> None:
        return None

    async def close(self) -> None:
        for bot in self.bots:
            await bot.close()


async def test_recording_shows_who_started_it_and_who_may_stop_it(browsers: Browsers, server: RunningServer) -> None:
    recorders = StandInRecorders(server)
    server.app[SIGNALING_KEY].bots = recorders
    try:
        await _record_and_stop(browsers, server)
    finally:
        await recorders.close()


async def _record_and_stop(browsers: Browsers, server: RunningServer) -> None:
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await join(alice, server.url, "rec-room", "Alice")
    await join(bob, server.url, "rec-room", "Bob")
    await eventually(lambda: present(alice, "Bob"), "Bob's tile is on Alice's stage")

    # The host starts it: both see REC and who; Bob may not stop it, and his button says why.
    await alice.get_by_role("button", name="Record").click()
    await alice.locator("#rec-indicator").filter(has_text="you").wait_for(timeout=30_000)
    await bob.locator("#rec-indicator").filter(has_text="Alice").wait_for(timeout=30_000)
    bob_record = bob.locator("#btn-record")
    assert await bob_record.is_disabled()
    assert await bob_record.get_attribute("data-tip") == "Only the host can stop the recording"
    await bob_record.click(force=True)  # pressed anyway: told so, and the recording goes on
    await bob.locator(".toast").filter(has_text="Only the host can stop the recording").wait_for()
    assert await bob.locator("#rec-indicator").is_visible()

    await alice.get_by_role("button", name="Stop recording").click()
    for page in (alice, bob):
        await page.locator("#rec-indicator").wait_for(state="hidden", timeout=30_000)
    await eventually(lambda: _enabled(bob_record), "Bob's Record button works again")

    # Bob (not the host) starts one: he may stop it himself.
    await bob_record.click()
    await alice.locator("#rec-indicator").filter(has_text="Bob").wait_for(timeout=30_000)
    await bob.locator("#rec-indicator").filter(has_text="you").wait_for(timeout=30_000)
    await bob.get_by_role("button", name="Stop recording").click()
    for page in (alice, bob):
        await page.locator("#rec-indicator").wait_for(state="hidden", timeout=30_000)


async def _enabled(button: Locator) -> bool:
    return await button.is_enabled()


# ---- TURN credentials refreshed mid-call ---------------------------------------------------------------


async def test_turn_credentials_are_refreshed_before_they_expire(
    browsers: Browsers, make_server: Callable[..., Awaitable[RunningServer]]
) -> None:
    # Nothing listens at this TURN address: the call runs on host candidates; only the credentials matter.
    server = await make_server(turn_urls=["turn:10.99.0.1:3478"], turn_secret="refresh-secret", turn_ttl=10)
    alice, bob = await browsers.page("alice"), await browsers.page("bob")
    await join(alice, server.url, "long-call", "Alice")
    await join(bob, server.url, "long-call", "Bob")
    await assert_receiving(alice, "Bob")
    bob_id = (await remote_tile(alice, "Bob"))["peerId"]
    first = await _turn_username(alice, bob_id)
    expiry = int(first.split(":")[0])

    async def refreshed() -> str | None:
        name = await _turn_username(alice, bob_id)
        return name if int(name.split(":")[0]) > expiry else None

    # Refreshed at 80 % of the 10 s lifetime, applied to the open RTCPeerConnection.
    fresh = await eventually(refreshed, "Alice's connection to Bob has newer TURN credentials", timeout=20)
    assert fresh.endswith(":" + (await alice.evaluate("() => window.noom.selfId()")))
    await assert_receiving(alice, "Bob")


async def _turn_username(page: Page, peer_id: str) -> str:
    servers = await page.evaluate("(id) => window.noom.iceServers(id)", peer_id)
    names = [s["username"] for s in servers if s.get("username")]
    assert len(names) == 1, servers
    return names[0]


# ---- two processes on one Redis -------------------------------------------------------------------------


async def test_the_host_on_one_process_removes_someone_on_the_other(
    browsers: Browsers, redis_server: RedisServer, noom_processes: Callable[..., NoomProcess]
) -> None:
    flags = ("--redis-url", redis_server.url, "--shutdown-timeout", "2")
    one, two = noom_processes(*flags), noom_processes(*flags)
    await one.start()
    await two.start()
    alice, bob, carol = [await browsers.page(n) for n in ("alice", "bob", "carol")]
    await join(alice, one.url, "across", "Alice")
    await join(bob, two.url, "across", "Bob")
    await join(carol, two.url, "across", "Carol")
    for page in (alice, carol):
        await eventually(lambda page=page: present(page, "Bob"), "Bob's tile is on the stage")

    await open_people(alice)
    await eventually(lambda: is_host_on(alice, "Alice (you)"), "Alice is the host")
    await alice.get_by_role("button", name="Remove Bob").click()
    await confirm(alice, "Remove")
    await bob.get_by_text("The host removed you from the call.").wait_for()
    for page in (alice, carol):
        await eventually(lambda page=page: gone(page, "Bob"), "Bob's tile leaves the stage", timeout=10)

    await bob.get_by_role("button", name="Rejoin").click()
    await bob.locator("#join-error").filter(has_text="the host removed you from this call").wait_for()
    assert await bob.locator("#call").is_hidden()
    assert await present(alice, "Carol") and await present(carol, "Alice")
