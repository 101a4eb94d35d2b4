"""Noom's signaling server: protocol v1 over Socket.IO on aiohttp."""
