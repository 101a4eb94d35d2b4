"""The wheel runs on its own: built from this tree's files, installed into a fresh venv without a checkout or
node_modules beside it, it serves every page with every asset the page references, and holds a call.

No network: the wheel is built without build isolation (the dev venv's setuptools) and installed with
--no-deps into a venv whose .pth file points at the dev venv's site-packages for the dependencies."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urljoin

import aiohttp
import pytest

from .browser_fixtures import Browsers, call_of_two
from .services import ROOT, NoomProcess

# Attribute and string references a page, script or style sheet makes to a file of ours.
ABSOLUTE = re.compile(r"""(?:src|href)=["'](/[^"'?#]+)|["'(](/(?:static|vendor)/[^"')?#\s]+)""")
TEXT_TYPES = {"text/html", "text/css", "text/javascript", "application/javascript"}
RELATIVE_IMPORT = re.compile(r"""(?:from|import)\s*\(?\s*["'](\.{1,2}/[^"']+)["']""")


def _run(*command: str | Path, cwd: Path | None = None) -> None:
    done = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The python of a fresh venv holding only the wheel (dependencies seen through a .pth file)."""
    vendor = ROOT / "web" / "static" / "vendor"
    assert vendor.is_dir(), "web/static/vendor/ is missing: run scripts/setup.sh"
    tmp = tmp_path_factory.mktemp("wheel")
    # A clean tree: tracked and new (not ignored) files only, plus the vendored assets setup.sh made.
    source = tmp / "source"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    shutil.copytree(vendor, source / "web" / "static" / "vendor")
    dist = tmp / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, source)
    (wheel,) = dist.glob("noom-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist() if ".dist-info/" not in name}
        top_level = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/top_level.txt")))
    assert tops == {"noom"}, f"the wheel installs top-level names {sorted(tops)}"
    assert top_level.decode().split() == ["noom"]

    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # Appended after the fresh venv's own site-packages, so the wheel's noom wins over the editable one.
    (site / "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    located = subprocess.run(
        [python, "-c", "import noom.web, noom.app; print(noom.web.__file__)"],
        cwd=tmp,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(located).is_relative_to(venv), f"noom imported from {located}, not from the wheel"
    assert (venv / "bin" / "noom").is_file(), "the wheel installs no noom command"
    yield python


@pytest.fixture
async def wheel_server(wheel_venv: Path, tmp_path: Path) -> AsyncIterator[NoomProcess]:
    cwd = tmp_path / "elsewhere"  # no checkout beside it
    cwd.mkdir()
    noom = await NoomProcess(log=tmp_path / "noom.log", python=str(wheel_venv), cwd=cwd).start()
    try:
        yield noom
    finally:
        noom.stop()


async def test_wheel_serves_every_page_and_asset(wheel_server: NoomProcess) -> None:
    pages = ["/", "/r/wheel-room", "/echo"]  # /r/<room> is the pre-join page, which becomes the call
    seen: set[str] = set()
    queue = [wheel_server.url + page for page in pages]
    async with aiohttp.ClientSession() as http:
        while queue:
            url = queue.pop()
            if url in seen:
                continue
            seen.add(url)
            async with http.get(url) as response:
                assert response.status == 200, f"{url}: HTTP {response.status}"
                readable = response.content_type in TEXT_TYPES
                text = await response.text() if readable else ""
            for match in ABSOLUTE.finditer(text):
                queue.append(wheel_server.url + (match.group(1) or match.group(2)))
            if url.endswith(".js"):
                queue.extend(urljoin(url, path) for path in RELATIVE_IMPORT.findall(text))
    assets = {url.removeprefix(wheel_server.url) for url in seen}
    # The crawl reached the third-party files, not only our own.
    assert "/vendor/socket.io/socket.io.esm.min.js" in assets
    assert any(path.startswith("/vendor/icons/") for path in assets)
    # RNNoise: the worklet and both WebAssembly builds, which static/js/noise.js names (the worklet gets the
    # chosen build from the page, so nothing else would reach them).
    assert {"/vendor/rnnoise/workletProcessor.js", "/vendor/noise-suppressor/rnnoise_simd.wasm"} <= assets
    assert "/vendor/noise-suppressor/rnnoise.wasm" in assets
    # MediaPipe for the camera's background effect (static/js/background.js names its runtime and model).
    assert {
        "/vendor/tasks-vision-wasm/vision_wasm_internal.wasm",
        "/vendor/selfie-segmentation/selfie_segmentation_landscape.tflite",
    } <= assets
    assert any(path.startswith("/static/js/") for path in assets)


async def test_two_browsers_hold_a_call_on_the_wheel(browsers: Browsers, wheel_server: NoomProcess) -> None:
    await call_of_two(browsers, wheel_server.url, "wheel")


def test_missing_assets_are_one_line_at_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from noom import cli
    from noom.web import assets

    monkeypatch.setattr(assets, "VENDOR", tmp_path / "vendor")  # an install without its vendored files
    assert cli.main(["serve", "--host", "127.0.0.1", "--port", "0"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "browser assets missing" in lines[0] and "scripts/setup.sh" in lines[0], lines
