"""The fence around what ``signaling.engine`` does with python-socketio's internals.

``engine.Server`` overrides two private methods of ``AsyncServer`` (``_handle_event``: reserved event names
refused; ``_handle_eio_message``: a malformed packet closes its connection with a warning) and
``engine.DirectEmit`` replaces ``AsyncManager.emit`` with one that writes through the private
``AsyncServer._send_eio_packet``. Each was written against python-socketio 5.18.1; ``install()`` (called by
the app factory, never on import) checks that upstream's source of each is still that code
(``UPSTREAM_DIGESTS``) and otherwise logs one warning, after which the overrides step aside and the server
runs on upstream's behaviour. It is all or nothing, like ``engineio_patch``.
"""

from __future__ import annotations

import logging
from importlib import metadata

import socketio

from .engineio_patch import source_digest

log = logging.getLogger(__name__)

# sha256 of inspect.getsource of each upstream method the overrides wrap, replace or call (python-socketio 5.18.1).
UPSTREAM_DIGESTS = {
    "AsyncServer._handle_event": "65178105ef8b593d1ebb63610cbabab0c29654cee50fd669ba0a66590f2e1f54",
    "AsyncServer._handle_eio_message": "bef50fc0e1635921c922995dba721d05d1c5ccc95d6a6b7647a1db75c4e6032e",
    "AsyncServer._send_eio_packet": "64cf72a2ab7d75b1d4cc1469416cde6ad7e949f74693924381dc05560e9ae929",
    "AsyncManager.emit": "01ccd5b82b4f955e4f2e4d07b5fbf09cacef868e9f61bc2abe56d92118a5f3ac",
}
_OWNERS = {"AsyncServer": socketio.AsyncServer, "AsyncManager": socketio.AsyncManager}
_installed = False


def _upstream(qualified: str) -> object:
    owner, name = qualified.split(".")
    return getattr(_OWNERS[owner], name)


def install() -> bool:
    """Let the overrides act if upstream is the code they were written for (idempotent); returns whether they do."""
    global _installed
    if _installed:
        return True
    changed = [name for name, want in UPSTREAM_DIGESTS.items() if source_digest(_upstream(name)) != want]
    if changed:
        log.warning(
            "python-socketio %s: %s is not the code signaling/engine.py was written for; "
            "running upstream's event dispatch and emit unchanged",
            metadata.version("python-socketio"),
            ", ".join(changed),
        )
        return False
    _installed = True
    return True


def installed() -> bool:
    return _installed


def uninstall() -> None:
    """Back to upstream's behaviour (tests and benchmarks compare both)."""
    global _installed
    _installed = False
