"""Pages, static files and the security headers every response carries."""

from __future__ import annotations

import secrets
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from noom.protocol import ROOM_RE
from noom.secret import CLIENT_COOKIE, SECRET_KEY
from noom.web.assets import VENDOR, check_assets
from noom.web.language import page_context, remember_language, request_language, translate

HERE = Path(__file__).parent

# No inline scripts or styles anywhere: every script is a module file under /static or /vendor.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        # 'wasm-unsafe-eval' lets WebAssembly.compile run (RNNoise in the microphone's AudioWorklet, which
        # shares this policy); it allows no eval() of JavaScript and no script from anywhere else.
        "script-src 'self' 'wasm-unsafe-eval'",
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


CLIENT_COOKIE_SECONDS = 365 * 24 * 3600


def _give_client_id(request: web.Request, response: web.StreamResponse) -> None:
    """Give every browser that opens a page a signed client id, which a host's removal then bans (instead
    of the whole address, which an office behind one NAT shares)."""
    if SECRET_KEY not in request.app:
        return
    secret = request.app[SECRET_KEY]
    current = request.cookies.get(CLIENT_COOKIE)
    if current is not None and secret.verify("client", current) is not None:
        return
    token = secret.sign("client", secrets.token_urlsafe(12), CLIENT_COOKIE_SECONDS)
    response.set_cookie(
        CLIENT_COOKIE,
        token,
        max_age=CLIENT_COOKIE_SECONDS,
        httponly=True,
        samesite="Lax",
        path="/",
        secure=request.secure,
    )


@web.middleware
async def _page_cookies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The cookies a page sets: the client id and the language switch's choice. A middleware, not a
    response-prepare hook: aiohttp writes ``set_cookie()``'s headers before the hooks run (3.14), so a cookie
    set there is silently dropped."""
    response = await handler(request)
    if response.content_type == "text/html" and not response.prepared:
        _give_client_id(request, response)
        remember_language(request, response)
    return response


@aiohttp_jinja2.template("lobby.html")
async def lobby(request: web.Request) -> dict[str, object]:
    return page_context(request)


@aiohttp_jinja2.template("room.html")
async def room(request: web.Request) -> dict[str, object]:
    """Pre-join and call page of one room; the room name is checked here so a bad link says so at once."""
    name = request.match_info["room"]
    if not ROOM_RE.fullmatch(name):
        raise web.HTTPNotFound(text=translate(request_language(request), "page.no_such_room"))
    return {**page_context(request), "room": name}


@aiohttp_jinja2.template("echo.html")
async def echo(request: web.Request) -> dict[str, object]:
    """The camera and microphone test; a server without bots says so when the page asks for one."""
    return page_context(request)


def setup_web(app: web.Application) -> None:
    check_assets()  # a one-line MissingAssetsError now, rather than 404s in the browser later
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
    )
    app.on_response_prepare.append(_security_headers)
    app.middlewares.append(_page_cookies)
    app.router.add_get("/", lobby, name="lobby")
    app.router.add_get("/r/{room}", room, name="room")
    app.router.add_get("/echo", echo, name="echo")
    app.router.add_static("/static/", HERE / "static", name="static")
    # Copied from the pinned npm packages into the package (web/assets.py); same URLs whatever the version.
    # socket.io-client's ES module build.
    app.router.add_static("/vendor/socket.io/", VENDOR / "socket.io", name="socketio-client")
    # Lucide icons (SVG files), coloured by CSS mask-image so they follow the text colour.
    app.router.add_static("/vendor/icons/", VENDOR / "icons", name="icons")
    # RNNoise for the microphone (static/js/noise.js): the library module, its WebAssembly builds, its worklet.
    app.router.add_static("/vendor/noise-suppressor/", VENDOR / "noise-suppressor", name="noise-suppressor")
    app.router.add_static("/vendor/rnnoise/", VENDOR / "rnnoise", name="rnnoise-worklet")
    # Background effects for the camera (static/js/background.js): MediaPipe's runtime and the segmentation model.
    app.router.add_static("/vendor/tasks-vision/", VENDOR / "tasks-vision", name="tasks-vision")
    app.router.add_static("/vendor/tasks-vision-wasm/", VENDOR / "tasks-vision-wasm", name="tasks-vision-wasm")
    app.router.add_static("/vendor/selfie-segmentation/", VENDOR / "selfie-segmentation", name="selfie-segmentation")
