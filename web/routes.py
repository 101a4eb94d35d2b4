"""Pages, static files and the security headers every response carries."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from signaling.protocol import ROOM_RE

HERE = Path(__file__).parent
NODE_MODULES = HERE / "node_modules"

# No inline scripts or styles anywhere: every script is a module file under /static or /vendor.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self), speaker-selection=(self)",
    "X-Content-Type-Options": "nosniff",
}


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    # A response-prepare hook rather than a middleware: it also covers static files and error pages.
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)


@aiohttp_jinja2.template("lobby.html")
async def lobby(request: web.Request) -> dict[str, object]:
    return {}


@aiohttp_jinja2.template("room.html")
async def room(request: web.Request) -> dict[str, object]:
    """Pre-join and call page of one room; the room name is checked here so a bad link says so at once."""
    name = request.match_info["room"]
    if not ROOM_RE.fullmatch(name):
        raise web.HTTPNotFound(
            text="No such room: room names are letters, digits, '-' and '_'. Go back to / and pick one."
        )
    return {"room": name}


def setup_web(app: web.Application) -> None:
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/", lobby, name="lobby")
    app.router.add_get("/r/{room}", room, name="room")
    app.router.add_static("/static/", HERE / "static", name="static")
    # socket.io-client from npm at a stable URL, whatever its version.
    app.router.add_static("/vendor/socket.io/", NODE_MODULES / "socket.io-client" / "dist", name="socketio-client")
    # Lucide icons (SVG files), coloured by CSS mask-image so they follow the text colour.
    app.router.add_static("/vendor/icons/", NODE_MODULES / "lucide-static" / "icons", name="icons")
