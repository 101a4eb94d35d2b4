"""The message catalogs (web/i18n/<lang>.json) and which language a page speaks.

One catalog per language, flat ``{"key": "text"}`` JSON, used by the server (templates, the few server-made
texts a person reads) and by the browser client: each page carries its language's catalog in a JSON data
block (base.html), which static/js/catalog.js hands to the lookup in static/js/i18n.js.

Adding a string: give it a key (``area.what``, e.g. ``call.blur``) in *both* en.json and ko.json with the same
``{placeholders}``, then use it: ``{{ t("call.blur") }}`` in a template, ``t("call.blur")`` in a script (import
``t`` from ./i18n.js), ``translate(lang, "call.blur")`` here. tests/test_i18n.py fails on a key missing from
either catalog, a key used but absent, a key never used, or placeholders that differ between the catalogs.

A text that depends on a count is an object of plural forms, ``{"one": "1 person", "other": "{count} people"}``
(English needs it, Korean does not, so its entry may stay a plain string); ``count`` picks the form.

The language: ``?lang=`` on any page (the lobby's switch) wins and is remembered in a cookie; then that cookie;
then the browser's ``Accept-Language``; English otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import hdrs, web

CATALOGS = Path(__file__).parent / "i18n"
LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
# Each language's own name, for the switch (written in that language, so a person finds theirs).
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}
LANG_COOKIE = "noom_lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600

Message = str | dict[str, str]


@cache
def catalog(lang: str) -> Mapping[str, Message]:
    """The messages of one language (read once per process)."""
    return json.loads((CATALOGS / f"{lang}.json").read_text(encoding="utf-8"))


def plural_form(lang: str, count: int) -> str:
    """The plural category of ``count`` (English: one / other; Korean has no plural)."""
    return "one" if lang == "en" and count == 1 else "other"


def translate(lang: str, key: str, **params: Any) -> str:
    """The text of ``key`` in ``lang`` with its ``{placeholders}`` filled; ``count`` picks a plural form."""
    message = catalog(lang)[key]
    if isinstance(message, dict):
        message = message.get(plural_form(lang, int(params.get("count", 0))), message["other"])
    return message.format_map(params) if params else message


def from_accept_language(header: str | None) -> str | None:
    """The supported language the browser ranks highest in its ``Accept-Language``, or None."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else None


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page's language: the switch's ``?lang=``, the remembered choice, the browser's, or English."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return choice
    return from_accept_language(accept_language) or DEFAULT_LANGUAGE


def request_language(request: web.Request) -> str:
    return choose_language(
        request.query.get("lang"), request.cookies.get(LANG_COOKIE), request.headers.get("Accept-Language")
    )


def page_context(request: web.Request) -> dict[str, object]:
    """What every page's template gets (base.html needs it): the language, ``t`` and the catalog."""
    lang = request_language(request)
    return {
        "lang": lang,
        "languages": LANGUAGE_NAMES,
        "t": lambda key, **params: translate(lang, key, **params),
        "catalog": {"lang": lang, "messages": catalog(lang)},
    }


def remember_language(request: web.Request, response: web.StreamResponse) -> None:
    """On a page: the switch's ``?lang=`` becomes a cookie, so every later page (and its script) speaks that
    language. Called before the response is prepared (web/routes.py's page middleware)."""
    # A page's words depend on these: no cache may hand one person's language to another.
    response.headers.add(hdrs.VARY, "Accept-Language, Cookie")
    chosen = request.query.get("lang")
    if chosen not in LANGUAGES or request.cookies.get(LANG_COOKIE) == chosen:
        return
    response.set_cookie(
        LANG_COOKIE, chosen, max_age=LANG_COOKIE_SECONDS, path="/", samesite="Lax", secure=request.secure
    )
