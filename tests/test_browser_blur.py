"""Background effects on the camera (web/static/js/background.js) in Chromium and Firefox, seen by the receiver.

The sender's camera looks at a person in front of a finely textured background (tests/person_scene.py). The
receiver's picture of the sender is drawn into a canvas and measured where the background is and where the
face is: with blur on, the background's fine detail (variance of the Laplacian) drops to at most half of
what it is with the effect off, while the face keeps its detail; off, the picture keeps the source's detail;
with the plain colour, the background is that colour.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import shutil
import subprocess
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from .browser_fixtures import AnyPage, Browsers, assert_receiving, join, open_room, remote_tile
from .fake_media import write_still_y4m
from .firefox import Firefoxes
from .helpers import RunningServer
from .person_scene import dilate, laplacian_variance, person_scene, resized
from .support import eventually
from .test_browser_screenshots import SHOTS

log = logging.getLogger(__name__)

BACKGROUND_MARGIN = 24  # source pixels between the person's outline and the background region measured
PLAIN_COLOR = (0x33, 0x47, 0x5B)  # background.js PLAIN_COLOR

# The receiver's picture of one peer, as RGB bytes (base64) and its size.
GRAB_JS = """(peerId) => {
  const video = document.querySelector(`#stage .tile[data-peer-id="${peerId}"] video`);
  const width = video.videoWidth, height = video.videoHeight;
  if (!width) return null;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.drawImage(video, 0, 0);
  const rgba = context.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]; rgb[j + 1] = rgba[i + 1]; rgb[j + 2] = rgba[i + 2];
  }
  let text = "";
  for (let i = 0; i < rgb.length; i += 0x8000) text += String.fromCharCode.apply(null, rgb.subarray(i, i + 0x8000));
  return { width, height, shown: video.clientWidth * devicePixelRatio, rgb: btoa(text) };
}"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    """(camera file, RGB frame, person mask, face mask): the person scene as a 30 fps camera."""
    frame, person, face = person_scene()
    path = write_still_y4m(tmp_path_factory.mktemp("blur-camera") / "person.y4m", frame, fps=30)
    return path, frame, person, face


class Picture:
    """One received frame, measured against the scene's masks scaled to its size."""

    def __init__(self, grab: dict[str, Any], person: np.ndarray, face: np.ndarray) -> None:
        width, height = grab["width"], grab["height"]
        self.rgb = np.frombuffer(base64.b64decode(grab["rgb"]), np.uint8).reshape(height, width, 3)
        self.grey = self.rgb.astype(np.float64) @ [0.299, 0.587, 0.114]
        self.background = resized(~dilate(person, BACKGROUND_MARGIN), width, height)
        self.face = resized(face, width, height)
        self.size = (width, height)
        self.full = width >= 0.8 * grab["shown"]  # as large as the tile shows it: the sender has ramped up

    def detail(self) -> tuple[float, float]:
        """(background, face) variance of the Laplacian."""
        return laplacian_variance(self.grey, self.background), laplacian_variance(self.grey, self.face)

    def background_color(self) -> tuple[np.ndarray, float]:
        """The background's mean colour and its spread (mean per-channel standard deviation)."""
        pixels = self.rgb[self.background].astype(np.float64)
        return pixels.mean(axis=0), float(pixels.std(axis=0).mean())


async def grab(page: AnyPage, peer_id: str, person: np.ndarray, face: np.ndarray) -> Picture | None:
    shot = await page.evaluate(GRAB_JS, peer_id)
    return Picture(shot, person, face) if shot else None


def source_detail(frame: np.ndarray, person: np.ndarray, size: tuple[int, int]) -> float:
    """The background detail of the camera's own picture at the received size."""
    scaled = np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR)).astype(np.float64)
    background = resized(~dilate(person, BACKGROUND_MARGIN), *size)
    return laplacian_variance(scaled @ [0.299, 0.587, 0.114], background)


async def settled_detail(
    page: AnyPage, peer_id: str, person: np.ndarray, face: np.ndarray
) -> tuple[Picture, float, float]:
    """A received picture once the sender has ramped up (at the start of a call and after a change of track an
    encoder starts small and with few bits): the first one as large as the tile shows it, then the sharpest of a
    few frames a second apart at that size (detail per pixel depends on the size, so only equal sizes compare)."""

    async def full() -> Picture | None:
        picture = await grab(page, peer_id, person, face)
        return picture if picture and picture.full else None

    size = (await eventually(full, "the receiver gets the picture at the tile's size", timeout=60)).size
    best: tuple[Picture, float, float] | None = None
    for _ in range(6):
        picture = await eventually(full, "the receiver gets the picture at the tile's size", timeout=60)
        if picture.size == size:
            background, face_detail = picture.detail()
            if best is None or background > best[1]:
                best = (picture, background, face_detail)
        await asyncio.sleep(1.0)
    assert best is not None
    return best


async def effect_of(page: AnyPage) -> str:
    return await page.evaluate("() => window.noom.localTracks().background")


async def test_blur_in_chromium_the_receiver_sees_the_background_blurred_and_the_person_sharp(
    browsers: Browsers, server: RunningServer, scene: tuple[Path, np.ndarray, np.ndarray, np.ndarray]
) -> None:
    path, frame, person, face = scene
    alice, _ = await browsers.separate_page("alice", [f"--use-file-for-fake-video-capture={path}"])
    bob = await browsers.page("bob", viewport=(960, 540))
    await join(alice, server.url, "blur", "Alice")
    await join(bob, server.url, "blur", "Bob")
    await assert_receiving(bob, "Alice")
    tile = await remote_tile(bob, "Alice")
    assert tile is not None
    assert await effect_of(alice) == "off"  # the default: it costs CPU

    off, off_background, off_face = await settled_detail(bob, tile["peerId"], person, face)
    source = source_detail(frame, person, off.size)
    log.warning(
        "effect off: received %s, background detail %.0f (source %.0f), face %.0f",
        off.size,
        off_background,
        source,
        off_face,
    )
    assert off_background >= 0.4 * source, "with the effect off, the background keeps the camera's detail"

    # Blur from the call's settings, mid-call: the sender swaps in the processed track (replaceTrack).
    await alice.get_by_role("button", name="Settings").click()
    await alice.get_by_role("combobox", name="Background").select_option("blur")
    await eventually(lambda: _is(effect_of(alice), "blur"), "Alice's camera goes out through the blur", timeout=60)
    assert await alice.evaluate("() => localStorage.getItem('noom.background')") == "blur"

    async def blurred() -> tuple[Picture, float, float] | None:
        picture = await grab(bob, tile["peerId"], person, face)
        if picture is None:
            return None
        background, face_detail = picture.detail()
        return (picture, background, face_detail) if background <= off_background / 2 else None

    _, on_background, _ = await eventually(blurred, "Bob sees Alice's background blurred", timeout=60)
    on, _, on_face = await settled_detail(bob, tile["peerId"], person, face)
    on_background = max(on_background, on.detail()[0])
    log.warning("blur on: received %s, background detail %.0f, face %.0f", on.size, on_background, on_face)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await bob.screenshot(path=str(SHOTS / "blur.png"))  # the README's: Alice as Bob sees her, blurred
    assert on_background <= off_background / 2, f"background detail off {off_background:.0f}, on {on_background:.0f}"
    assert on_face >= 0.5 * off_face, f"the face keeps its detail: off {off_face:.0f}, on {on_face:.0f}"

    # Plain colour: the background becomes that colour, flat.
    await alice.get_by_role("combobox", name="Background").select_option("color")
    await eventually(lambda: _is(effect_of(alice), "color"), "Alice's camera goes out with a plain background")

    async def plain() -> tuple[np.ndarray, float] | None:
        picture = await grab(bob, tile["peerId"], person, face)
        if picture is None:
            return None
        color, spread = picture.background_color()
        return (color, spread) if np.abs(color - PLAIN_COLOR).max() <= 20 and spread <= 12 else None

    color, spread = await eventually(plain, "Bob sees Alice in front of a plain colour", timeout=60)
    log.warning("plain colour: background %s, spread %.1f", color.round(), spread)

    # Off again: the camera itself goes out, and the choice is remembered for the next pre-join page.
    await alice.get_by_role("combobox", name="Background").select_option("off")
    await eventually(lambda: _is(effect_of(alice), "off"), "Alice's camera goes out as it is")
    await alice.get_by_role("combobox", name="Background").select_option("blur")
    await open_room(alice, server.url, "blur-again", "Alice")
    assert await alice.get_by_role("combobox", name="Background").input_value() == "blur"
    # The preview runs it, and the call starts with it (it takes the preview's running effect over).
    await alice.click("#join-button")
    await eventually(lambda: _is(effect_of(alice), "blur"), "the call starts with the blur chosen before joining")


async def _is(value: Any, expected: str) -> bool:
    return (await value) == expected


# ---- Firefox -------------------------------------------------------------------------------------------


@pytest.fixture
def xvfb() -> Iterator[str]:
    """An X display for Firefox: headless Firefox has no WebGL without a GPU, MediaPipe needs it."""
    binary = shutil.which("Xvfb")
    assert binary, "Xvfb is missing: scripts/setup.sh --system installs it (Debian package xvfb)"
    process = subprocess.Popen(
        [binary, "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        number = process.stdout.readline().decode().strip()  # Xvfb writes the display it took once it listens
        assert number.isdigit(), f"Xvfb did not start (said {number!r})"
        yield f":{number}"
    finally:
        process.terminate()
        process.wait(timeout=10)


# A camera that looks at the scene: Firefox's fake camera cannot play a file, so the page's getUserMedia gets a
# canvas that draws the scene 30 times a second (microphone requests still reach the real fake device).
FAKE_CAMERA_JS = """async (png) => {
  const image = new Image();
  image.src = `data:image/png;base64,${png}`;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  setInterval(() => context.drawImage(image, 0, 0), 1000 / 30);
  context.drawImage(image, 0, 0);
  const stream = canvas.captureStream(30);
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    if (!constraints.video) return original(constraints);
    const tracks = [stream.getVideoTracks()[0].clone()];
    if (constraints.audio) tracks.push(...(await original({ audio: constraints.audio })).getAudioTracks());
    return new MediaStream(tracks);
  };
}"""


async def test_blur_in_firefox_the_chromium_receiver_sees_the_background_blurred(
    firefox: Firefoxes,
    browsers: Browsers,
    server: RunningServer,
    xvfb: str,
    scene: tuple[Path, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    _, frame, person, face = scene
    fiona = await firefox.page("fiona", display=xvfb)
    chris = await browsers.page("chris")
    png = BytesIO()
    Image.fromarray(frame).save(png, "PNG")
    await open_room(fiona, server.url, "blur-firefox", "Fiona")
    await fiona.evaluate(FAKE_CAMERA_JS, base64.b64encode(png.getvalue()).decode())
    # Camera off and on again on the pre-join page: it now opens the scene.
    await fiona.click("#pre-cam")
    await fiona.click("#pre-cam")
    await fiona.click("#join-button")
    await eventually(lambda: fiona.evaluate("() => !!(window.noom && window.noom.selfId())"), "Fiona is in the call")
    await join(chris, server.url, "blur-firefox", "Chris")
    await assert_receiving(chris, "Fiona")
    tile = await remote_tile(chris, "Fiona")
    assert tile is not None
    off, off_background, off_face = await settled_detail(chris, tile["peerId"], person, face)

    await fiona.click("#btn-settings")
    await fiona.evaluate(
        """() => { const picker = document.getElementById("call-background");
                   picker.value = "blur"; picker.dispatchEvent(new Event("change")); }"""
    )
    await eventually(lambda: _is(effect_of(fiona), "blur"), "Fiona's camera goes out through the blur", timeout=60)

    async def blurred() -> float | None:
        picture = await grab(chris, tile["peerId"], person, face)
        background = picture.detail()[0] if picture else None
        return background if background is not None and background <= off_background / 2 else None

    on_background = await eventually(blurred, "Chris sees Fiona's background blurred", timeout=60)
    on, on_settled, on_face = await settled_detail(chris, tile["peerId"], person, face)
    log.warning(
        "Firefox sender: received %s then %s; background detail off %.0f, on %.0f (settled %.0f); face %.0f, %.0f",
        off.size,
        on.size,
        off_background,
        on_background,
        on_settled,
        off_face,
        on_face,
    )
    assert max(on_background, on_settled) <= off_background / 2
    assert on_face >= 0.5 * off_face, f"the face keeps its detail: off {off_face:.0f}, on {on_face:.0f}"
    assert fiona.errors == [], fiona.errors
