"""Issue 13, item 7: every user-facing string is in the message catalogs (web/i18n/en.json, ko.json), both
catalogs are complete and agree on placeholders, and the page's language comes from the switch, the cookie it
leaves, or Accept-Language (English otherwise)."""

from __future__ import annotations

import html
import json
import re
import typing
from pathlib import Path

import aiohttp
import pytest

from noom.protocol import ErrorCode
from noom.web import language
from noom.web.language import LANG_COOKIE, LANGUAGES, catalog, choose_language, from_accept_language, translate

from .helpers import RunningServer

WEB = Path(__file__).resolve().parent.parent / "web"
TEMPLATES = sorted((WEB / "templates").glob("*.html"))
SCRIPTS = sorted((WEB / "static" / "js").glob("*.js"))
SERVER_CODE = sorted(path for path in WEB.glob("*.py") if path.name != "language.py")  # its docstring: examples
PLACEHOLDER = re.compile(r"\{(\w+)\}")
FILE_NAME = re.compile(r"\.(html|js|css|json)$")  # "lobby.html" is a template, not a key
# Error codes the browser client makes itself (static/js/client.js) besides the protocol's.
CLIENT_ERROR_CODES = {"timeout", "bad-ack"}
# Keys looked up by a name made at run time: i18n.js's serverText builds ``error.<code>``.
DYNAMIC_PREFIXES = ("error.",)


def placeholders(message: str | dict[str, str]) -> set[str]:
    forms = message.values() if isinstance(message, dict) else [message]
    return {name for form in forms for name in PLACEHOLDER.findall(form)}


def used_keys() -> dict[str, set[str]]:
    """Every catalog key the code names, by file: ``t("key")`` calls, and (for key tables and the template's
    reaction list) any quoted string in one of the catalogs' namespaces."""
    namespaces = sorted({key.split(".")[0] for key in catalog("en")})
    call = re.compile(r"""\b(?:t|translate\([^,()]+,)\(?\s*["']([\w.-]+)["']""")
    literal = re.compile(r"""["']((?:""" + "|".join(namespaces) + r""")\.[\w-]+)["']""")
    found: dict[str, set[str]] = {}
    for path in [*TEMPLATES, *SCRIPTS, *SERVER_CODE]:
        text = path.read_text(encoding="utf-8")
        keys = {key for key in {*call.findall(text), *literal.findall(text)} if not FILE_NAME.search(key)}
        if keys:
            found[path.name] = keys
    return found


def test_both_catalogs_have_the_same_keys() -> None:
    english, korean = set(catalog("en")), set(catalog("ko"))
    assert not english - korean, f"missing from ko.json: {sorted(english - korean)}"
    assert not korean - english, f"missing from en.json: {sorted(korean - english)}"
    for lang in LANGUAGES:
        for key, message in catalog(lang).items():
            assert message, f"{lang}.json: {key} is empty"
            if isinstance(message, dict):
                assert "other" in message and set(message) <= {"one", "other"}, f"{lang}.json: {key}'s plural forms"


def test_placeholders_are_the_same_in_both_catalogs() -> None:
    for key, message in catalog("en").items():
        korean = catalog("ko")[key]
        assert placeholders(message) == placeholders(korean), f"{key}: en and ko fill different placeholders"


def test_every_key_used_is_in_the_catalogs_and_every_key_is_used() -> None:
    used = used_keys()
    everything = set().union(*used.values())
    known = set(catalog("en"))
    for name, keys in used.items():
        assert not keys - known, f"{name} uses keys no catalog has: {sorted(keys - known)}"
    unused = {key for key in known - everything if not key.startswith(DYNAMIC_PREFIXES)}
    assert not unused, f"keys nothing uses (remove them, or use them): {sorted(unused)}"
    assert {"lobby.headline", "device.insecure", "bar.share", "echo.start"} <= everything  # the scan finds keys


def test_every_error_code_has_words_in_every_language() -> None:
    codes = set(typing.get_args(ErrorCode)) | CLIENT_ERROR_CODES
    assert len(codes) > 10
    dynamic = {key.removeprefix("error.") for key in catalog("en") if key.startswith("error.")}
    assert codes == dynamic, f"error.<code> keys and the protocol's codes differ: {sorted(codes ^ dynamic)}"


def test_templates_have_no_words_outside_the_catalog() -> None:
    """A template's visible text and its labels (aria-label, title, placeholder, data-tip) all come from t()."""
    jinja = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
    for path in TEMPLATES:
        # Scripts and the body's class name are no text a person reads.
        unread = re.compile(r"<script.*?</script>|\{% block body_class %\}.*?\{% endblock %\}", re.S)
        source = unread.sub("", path.read_text(encoding="utf-8"))
        for attribute, value in re.findall(r"""\b(aria-label|title|placeholder|data-tip|alt)="([^"]*)\"""", source):
            assert not re.search(r"[A-Za-z]", jinja.sub("", value)), f"{path.name}: {attribute}={value!r}"
        text = html.unescape(re.sub(r"<[^>]*>", " ", jinja.sub(" ", source)))
        words = [word for word in re.findall(r"[A-Za-z][\w'-]*", text) if word != "Noom"]
        assert not words, f"{path.name} has text outside the catalog: {words[:10]}"


def test_translate_fills_placeholders_and_picks_plural_forms() -> None:
    assert translate("en", "lobby.in_call", count=1) == "1 person in the call"
    assert translate("en", "lobby.in_call", count=3) == "3 people in the call"
    assert translate("ko", "lobby.in_call", count=3) == "3명 통화 중"
    assert translate("ko", "call.joined", name="지민") == "지민 님이 들어왔어요"
    assert translate("en", "common.cancel") == "Cancel"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,ko;q=0.5,en;q=0.4", "ko"),
        ("de", None),
        ("ko;q=0, en;q=0.1", "en"),
        ("en;q=0.5, ko", "ko"),
        ("ko;q=nonsense, en", "en"),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_the_switch_beats_the_cookie_which_beats_the_browser() -> None:
    assert choose_language(None, None, None) == "en"
    assert choose_language(None, None, "ko-KR") == "ko"
    assert choose_language(None, "en", "ko-KR") == "en"
    assert choose_language("ko", "en", "en-US") == "ko"
    assert choose_language("xx", "yy", "zz") == "en"


def embedded_catalog(page: str) -> dict[str, object]:
    block = re.search(r'<script type="application/json" id="noom-i18n">(.*?)</script>', page, re.S)
    assert block, "the page carries no catalog for its scripts"
    return json.loads(html.unescape(block.group(1)))


async def test_pages_speak_the_browsers_language_and_remember_the_switch(server: RunningServer) -> None:
    # unsafe: the jar keeps cookies of an IP address (the test server's 127.0.0.1), as browsers do.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(server.url + "/") as response:
            page = await response.text()
        assert '<html lang="en">' in page and "Video calls that just work." in page
        assert "Accept-Language" in response.headers["Vary"]
        assert embedded_catalog(page)["lang"] == "en"

        async with session.get(server.url + "/r/demo", headers={"Accept-Language": "ko-KR,ko;q=0.9"}) as response:
            page = await response.text()
        assert '<html lang="ko">' in page and translate("ko", "prejoin.title") in page
        data = embedded_catalog(page)
        assert data["lang"] == "ko" and data["messages"] == dict(catalog("ko"))
        assert LANG_COOKIE not in response.cookies  # only the switch leaves a cookie

        # The switch: ?lang=ko answers in Korean and leaves a cookie, which later pages follow.
        async with session.get(server.url + "/?lang=ko", headers={"Accept-Language": "en-US"}) as response:
            page = await response.text()
            assert response.cookies[LANG_COOKIE].value == "ko"
        assert '<html lang="ko">' in page and translate("ko", "lobby.headline") in page
        assert 'href="/?lang=ko" lang="ko" hreflang="ko" aria-current="true"' in page
        async with session.get(server.url + "/echo", headers={"Accept-Language": "en-US"}) as response:
            assert translate("ko", "echo.title") in await response.text()
        async with session.get(server.url + "/r/bad%20name") as response:
            assert response.status == 404
            assert await response.text() == translate("ko", "page.no_such_room")

        # Back to English by the switch.
        async with session.get(server.url + "/?lang=en") as response:
            assert response.cookies[LANG_COOKIE].value == "en"
        async with session.get(server.url + "/echo") as response:
            assert '<html lang="en">' in await response.text()


def test_catalog_loader_documents_how_to_add_a_key() -> None:
    # The lead adds other features' strings at merge: the loader says how.
    assert "Adding a string" in (language.__doc__ or "")
