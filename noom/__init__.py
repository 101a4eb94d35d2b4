"""Noom: video calls in the browser.

The installed names all live under ``noom``: ``noom.protocol`` (the wire contract every part shares),
``noom.signaling`` (the Socket.IO server), ``noom.media`` (aiortc bots), ``noom.web`` (pages and the browser
client), and the composition root that wires them together, ``noom.app`` and ``noom.cli``. In a checkout the
parts keep their own folders at the root (``signaling/``, ``media/``, ``web/``): pyproject maps them.
"""
