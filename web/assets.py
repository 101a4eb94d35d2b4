"""The browser's third-party files (socket.io-client, Lucide icons, RNNoise, MediaPipe): which ones the pages
reference, and where the package keeps them (static/vendor/, filled from the pinned npm packages by
scripts/vendor_assets.py and shipped inside the wheel)."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
VENDOR = HERE / "static" / "vendor"
# URL folder under /vendor/ -> its npm package folder below web/node_modules.
NPM_SOURCES = {
    "socket.io": Path("socket.io-client") / "dist",
    "icons": Path("lucide-static") / "icons",
    # RNNoise for the microphone (static/js/noise.js): the library module and its WebAssembly builds, and
    # the AudioWorklet processor, which the package keeps one folder down.
    "noise-suppressor": Path("@sapphi-red") / "web-noise-suppressor" / "dist",
    "rnnoise": Path("@sapphi-red") / "web-noise-suppressor" / "dist" / "rnnoise",
    # Background effects for the camera (static/js/background.js): MediaPipe's vision runtime (module and
    # WebAssembly) and the selfie-segmentation model from the package of that name.
    "tasks-vision": Path("@mediapipe") / "tasks-vision",
    "tasks-vision-wasm": Path("@mediapipe") / "tasks-vision" / "wasm",
    "selfie-segmentation": Path("@mediapipe") / "selfie_segmentation",
}
_REFERENCE = re.compile(r"/vendor/(" + "|".join(re.escape(name) for name in NPM_SOURCES) + r")/([A-Za-z0-9._-]+)")
_PAGE_SUFFIXES = {".html", ".js", ".css"}


class MissingAssetsError(RuntimeError):
    """A page references a vendored file the package does not hold; the message says what to run."""


def referenced_assets(web: Path = HERE) -> set[tuple[str, str]]:
    """Every (URL folder, file name) a template, script or style sheet names under /vendor/."""
    vendor = web / "static" / "vendor"
    found: set[tuple[str, str]] = set()
    for folder in (web / "templates", web / "static"):
        for path in folder.rglob("*"):
            if path.suffix in _PAGE_SUFFIXES and vendor not in path.parents:
                found.update(_REFERENCE.findall(path.read_text(encoding="utf-8")))
    return found


def check_assets() -> None:
    """Raise MissingAssetsError unless every vendored file the pages reference is in the package."""
    wanted = referenced_assets()
    missing = sorted(f"{folder}/{name}" for folder, name in wanted if not (VENDOR / folder / name).is_file())
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise MissingAssetsError(
            f"browser assets missing from {VENDOR} ({shown}): run scripts/setup.sh, or "
            "scripts/vendor_assets.py after npm ci in web/, then reinstall"
        )
