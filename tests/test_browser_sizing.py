"""Receiver-driven sizing in real Chromium: each sender's encoding toward a peer follows the tile that peer
shows it in (smaller window, smaller stream; hidden page, no stream), over the connection's data channel."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Page

from .browser_fixtures import Browsers, assert_receiving, flowing, join, remote_tile
from .helpers import RunningServer
from .support import eventually

BIG = (1280, 800)
SMALL = (480, 360)
HIDE_JS = """(hidden) => {
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  const state = () => (hidden ? 'hidden' : 'visible');
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: state });
  document.dispatchEvent(new Event('visibilitychange'));
}"""


async def peer_id(page: Page, name: str) -> str:
    tile = await remote_tile(page, name)
    assert tile, f"no tile for {name}"
    return tile["peerId"]


async def sender(page: Page, to: str) -> dict[str, Any]:
    return await page.evaluate("(id) => window.noom.senderParams(id)", to)


async def outbound(page: Page, to: str) -> dict[str, Any]:
    return await page.evaluate("(id) => window.noom.outboundVideo(id)", to)


async def sent_at_most(page: Page, to: str, height: int) -> dict[str, Any] | None:
    """The encoder sends frames toward ``to`` no taller than ``height`` (and still sends)."""
    first = await outbound(page, to)
    await asyncio.sleep(0.5)
    now = await outbound(page, to)
    ok = 0 < now["frameHeight"] <= height and now["framesEncoded"] > first["framesEncoded"]
    return now if ok else None


async def encoding_stopped(page: Page, to: str) -> bool:
    params = await sender(page, to)
    if params["encodings"][0].get("active") is not False:
        return False
    first = await outbound(page, to)
    await asyncio.sleep(1.0)
    now = await outbound(page, to)
    return now["framesEncoded"] == first["framesEncoded"]


async def view_of(page: Page, to: str, visible: bool = True, below: int | None = None) -> dict[str, Any] | None:
    """The view ``to`` has told ``page`` (optionally: shorter than ``below`` device px)."""
    view = (await sender(page, to))["view"]
    if not view or view["visible"] != visible:
        return None
    if below is not None and view["height"] >= below:
        return None
    return view


async def call_of_two(browsers: Browsers, server: RunningServer, room: str) -> tuple[Page, Page]:
    """Alice and Bob in big windows, each receiving the other."""
    alice = await browsers.page("alice", BIG)
    bob = await browsers.page("bob", BIG)
    await join(alice, server.url, room, "Alice")
    await join(bob, server.url, room, "Bob")
    await assert_receiving(alice, "Bob")
    await assert_receiving(bob, "Alice")
    return alice, bob


async def test_two_people_stream_follows_the_receivers_tile(browsers: Browsers, server: RunningServer) -> None:
    alice, bob = await call_of_two(browsers, server, "sizing-duo")
    alice_id = await peer_id(bob, "Alice")

    # Alice's big tile: Bob learns its size and sends at about that height, not the 720p he could.
    view = await eventually(lambda: view_of(bob, alice_id), "Bob knows how Alice shows him", 20)
    tile = await alice.evaluate("() => document.querySelector('#stage .tile:not(.self) video').clientHeight")
    assert abs(view["height"] - tile) <= 2, (view, tile)
    big = await eventually(
        lambda: sent_at_most(bob, alice_id, int(view["height"] * 1.05) + 2), "Bob sends at most Alice's tile height", 40
    )
    params = await sender(bob, alice_id)
    encoding = params["encodings"][0]
    assert encoding["active"] is not False and encoding["scaleResolutionDownBy"] >= 1, params
    assert encoding["maxFramerate"] == 30 and encoding["maxBitrate"] > 0, params
    assert params["capture"]["height"] < 720, params  # nobody needs 720p here
    assert all(e.get("priority") == "high" for e in params["audioEncodings"]), params
    assert "useinbandfec=1" in params["opusFmtp"] and "usedtx=1" in params["opusFmtp"], params

    # Alice shrinks her window: Bob's stream toward her shrinks with her tile, and she still decodes it.
    await alice.set_viewport_size({"width": SMALL[0], "height": SMALL[1]})
    small = await eventually(
        lambda: view_of(bob, alice_id, below=int(view["height"] * 0.7)), "Bob hears of Alice's smaller tile", 20
    )
    assert small["height"] < 240
    shrunk = await eventually(
        lambda: sent_at_most(bob, alice_id, int(small["height"] * 1.05) + 2), "Bob's frames shrink to her tile", 40
    )
    assert shrunk["frameHeight"] < big["frameHeight"], (shrunk, big)
    assert (await sender(bob, alice_id))["encodings"][0]["maxFramerate"] == 15
    await eventually(lambda: flowing(alice, "Bob"), "Alice still decodes Bob's video", 20)

    # The uplink budget has an estimate to work with and keeps the stream within it.
    params = await eventually(lambda: _budgeted(bob, alice_id), "Bob's video toward Alice has a budget", 20)
    assert params["encodings"][0]["maxBitrate"] <= params["budget"] + 1, params

    # Alice's page is hidden: Bob stops encoding for her; shown again, it comes back.
    await alice.evaluate(HIDE_JS, True)
    await eventually(lambda: view_of(bob, alice_id, visible=False), "Bob hears Alice sees nothing", 20)
    await eventually(lambda: encoding_stopped(bob, alice_id), "Bob's encoding toward Alice is inactive", 20)
    await alice.evaluate(HIDE_JS, False)
    await eventually(lambda: view_of(bob, alice_id), "Bob hears Alice sees him again", 20)
    await eventually(lambda: flowing(alice, "Bob"), "Alice decodes Bob's video again", 30)

    # The other direction never changed: Alice sends to Bob's big tile.
    bob_id = await peer_id(alice, "Bob")
    assert (await sender(alice, bob_id))["encodings"][0]["active"] is not False


async def test_three_people_each_connection_sized_to_its_receiver(browsers: Browsers, server: RunningServer) -> None:
    names = ["Alice", "Bob", "Carol"]
    pages = {name: await browsers.page(name.lower(), BIG) for name in names}
    for name, page in pages.items():
        await join(page, server.url, "sizing-trio", name)
    for name, page in pages.items():
        for other in names:
            if other != name:
                await assert_receiving(page, other)
    alice, bob, carol = pages["Alice"], pages["Bob"], pages["Carol"]
    carol_at_alice = await peer_id(alice, "Carol")
    carol_at_bob = await peer_id(bob, "Carol")
    bob_at_alice = await peer_id(alice, "Bob")

    # Carol shrinks her window: Alice and Bob shrink what they send her, and only to her.
    await carol.set_viewport_size({"width": SMALL[0], "height": SMALL[1]})
    for page, to in ((alice, carol_at_alice), (bob, carol_at_bob)):
        small = await eventually(lambda p=page, t=to: view_of(p, t, below=240), "Carol's small tile is known", 20)
        await eventually(
            lambda p=page, t=to, h=small["height"]: sent_at_most(p, t, int(h * 1.05) + 2),
            "frames toward Carol shrink to her tile",
            40,
        )
    big_view = await eventually(lambda: view_of(alice, bob_at_alice), "Alice knows Bob's tile", 20)
    assert big_view["height"] > 240, big_view
    toward_bob = await eventually(
        lambda: _taller_than(alice, bob_at_alice, carol_at_alice), "Alice sends Bob more than Carol", 40
    )
    assert toward_bob
    for other in ("Alice", "Bob"):
        await eventually(lambda o=other: flowing(carol, o), f"Carol still decodes {other}", 20)

    # Carol hides her page: nobody encodes for her, Alice still sends to Bob; then it comes back.
    await carol.evaluate(HIDE_JS, True)
    for page, to in ((alice, carol_at_alice), (bob, carol_at_bob)):
        await eventually(lambda p=page, t=to: encoding_stopped(p, t), "the encoding toward Carol is inactive", 20)
    await eventually(lambda: flowing(bob, "Alice"), "Bob still gets Alice's video", 20)
    await carol.evaluate(HIDE_JS, False)
    for other in ("Alice", "Bob"):
        await eventually(lambda o=other: flowing(carol, o), f"Carol decodes {other} again", 30)


async def test_screen_share_keeps_resolution(browsers: Browsers, server: RunningServer) -> None:
    alice, bob = await call_of_two(browsers, server, "sizing-share")
    alice_id = await peer_id(bob, "Alice")
    await bob.locator("#btn-share").click()
    await eventually(lambda: _featured(alice, "Bob"), "Alice shows Bob's screen as the large tile", 20)
    params = await eventually(lambda: _sharing(bob, alice_id), "Bob's sender keeps resolution while sharing", 20)
    assert params["encodings"][0]["active"] is not False, params
    await eventually(lambda: flowing(alice, "Bob"), "Alice decodes Bob's screen", 30)
    await bob.locator("#btn-share").click()
    await eventually(lambda: _camera_again(bob, alice_id), "Bob's sender is back to camera settings", 20)


async def _featured(page: Page, name: str) -> bool:
    tile = await remote_tile(page, name)
    return bool(tile and tile["featured"])


async def _sharing(page: Page, to: str) -> dict[str, Any] | None:
    params = await sender(page, to)
    return params if params["degradationPreference"] == "maintain-resolution" else None


async def _camera_again(page: Page, to: str) -> bool:
    return (await sender(page, to))["degradationPreference"] != "maintain-resolution"


async def _budgeted(page: Page, to: str) -> dict[str, Any] | None:
    params = await sender(page, to)
    return params if params["budget"] and params["encodings"][0].get("maxBitrate") else None


async def _taller_than(page: Page, big: str, small: str) -> bool:
    a = await outbound(page, big)
    b = await outbound(page, small)
    return a["frameHeight"] > b["frameHeight"] > 0


async def test_the_recorder_asks_for_no_more_than_its_grid_cell(browsers: Browsers, server: RunningServer) -> None:
    alice, _ = await call_of_two(browsers, server, "sizing-rec")
    await alice.get_by_role("button", name="Record").click()
    recorder = await eventually(
        lambda: alice.evaluate("() => window.noom.peers().find((p) => p.role === 'recorder')?.peerId"),
        "the recorder joined",
        30,
    )
    # Two people in a 1280x720 grid: cells of 640x720, a 16:9 picture fits 640x360 in each.
    view = await eventually(lambda: view_of(alice, recorder), "Alice knows the recorder's cell", 30)
    assert (view["width"], view["height"]) == (640, 360), view
    # Alice's sender toward the recorder is set to encode no taller than that cell. (The live frame height is
    # checked toward people in the tests above; here the encoder sits beside an H.264 recorder on 2 cores.)
    await eventually(lambda: _encodes_at_most(alice, recorder, 362), "Alice's encoding toward the recorder fits", 40)
    await alice.get_by_role("button", name="Stop recording").click()


async def _encodes_at_most(page: Page, to: str, height: int) -> bool:
    params = await sender(page, to)
    encoding, capture = params["encodings"][0], params["capture"]
    scale = encoding.get("scaleResolutionDownBy") or 1
    return encoding.get("active") is not False and capture is not None and capture["height"] / scale <= height
