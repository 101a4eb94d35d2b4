#!/usr/bin/env python3
"""Copy the browser's third-party files that the pages reference from the pinned npm packages
(web/node_modules, installed by ``npm ci``) into web/static/vendor/, which ships inside the wheel.

Run by scripts/setup.sh after ``npm ci`` (with .venv/bin/python: it reads noom.web.assets); run it
again after a page starts using another icon. The folder is git-ignored and rebuilt from scratch on
every run, so it never holds a stale file."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tflite_metadata import add_normalization

from noom.web.assets import HERE, NPM_SOURCES, VENDOR, referenced_assets

NODE_MODULES = HERE / "node_modules"
# MediaPipe Tasks posts usage statistics to a Google endpoint every minute, which no option turns off. The
# pages' CSP (connect-src 'self') blocks it anyway, but a page of ours should not even try: the logger's flush
# becomes "nothing to send". Matched exactly, so an upgrade that changes this code stops the vendor step.
TELEMETRY_FLUSH = "flush(t,e){if(this.error)"
NO_TELEMETRY_FLUSH = "flush(t,e){if(this.i=[],t?.(),1)return;if(this.error)"
TELEMETRY_URL = "https://odml.pa.googleapis.com/v1/log"


def drop_telemetry(path: Path) -> None:
    """Make MediaPipe's usage logger (in the vision bundle at ``path``) send nothing."""
    text = path.read_text(encoding="utf-8")
    if text.count(TELEMETRY_FLUSH) != 1 or text.count(TELEMETRY_URL) != 1:
        raise SystemExit(f"vendor_assets: {path.name}: MediaPipe's usage logger changed; update drop_telemetry")
    path.write_text(text.replace(TELEMETRY_FLUSH, NO_TELEMETRY_FLUSH), encoding="utf-8")


# Copied files that are changed on the way: the selfie-segmentation models get the input-normalisation
# metadata MediaPipe Tasks needs to run them (scripts/tflite_metadata.py; static/js/background.js), and the
# MediaPipe bundle loses its telemetry.
REWRITES = {("selfie-segmentation", ".tflite"): add_normalization, ("tasks-vision", ".mjs"): drop_telemetry}


def vendor() -> list[Path]:
    """Rebuild web/static/vendor/ from node_modules; a source map beside a script comes along."""
    assets = sorted(referenced_assets())
    missing = [
        str(NODE_MODULES / NPM_SOURCES[folder] / name)
        for folder, name in assets
        if not (NODE_MODULES / NPM_SOURCES[folder] / name).is_file()
    ]
    if missing:
        raise SystemExit(f"vendor_assets: not in web/node_modules: {', '.join(missing)}. Run npm ci in web/ first.")
    shutil.rmtree(VENDOR, ignore_errors=True)
    copied: list[Path] = []
    for folder, name in assets:
        source = NODE_MODULES / NPM_SOURCES[folder] / name
        for path in (source, source.with_name(f"{name}.map")):
            if path.is_file():
                target = VENDOR / folder / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                rewrite = REWRITES.get((folder, target.suffix))
                if rewrite:
                    rewrite(target)
                copied.append(target)
    return copied


def main() -> int:
    copied = vendor()
    print(f"vendor_assets: {len(copied)} files in {VENDOR}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
