"""Issue 13, item 8: opened over plain http at an address other than localhost, the browser gives the page no
camera, microphone or screen sharing. The pre-join page names that cause and the fix, and does not offer
screen sharing; the person can still join to watch and chat. In English and in Korean."""

from __future__ import annotations

import pytest

from noom.web.language import translate

from .browser_fixtures import Browsers, has_chat, join, open_room, send_chat, visible
from .firefox import Firefoxes, FirefoxPage
from .helpers import RunningServer
from .support import eventually
from .test_browser_a11y import a11y_page, assert_no_serious_violations

# Inside tests' network namespace (scripts/netns.sh) this is a veth address: Chromium treats http://127.0.0.1
# and http://localhost as secure, but not http://10.99.0.1.
LAN_HOST = "10.99.0.1"


async def test_plain_http_on_a_lan_address_says_the_browser_blocks_devices(
    browsers: Browsers, make_server, server: RunningServer
) -> None:
    lan: RunningServer = await make_server(host=LAN_HOST)
    assert lan.url.startswith(f"http://{LAN_HOST}:")
    page = await a11y_page(browsers, "lan")
    await open_room(page, lan.url, "over-http", "Lan")
    assert await page.evaluate("() => window.isSecureContext") is False

    note = page.locator("#device-note")
    await note.wait_for(state="visible")
    text = await note.text_content() or ""
    assert "blocks the camera and microphone" in text and "not secure" in text, text
    assert "https://" in text and "--tls-self-signed" in text, text
    assert "still join to watch and chat" in text, text
    assert "No camera or microphone found" not in text, text
    await assert_no_serious_violations(page, "the pre-join page over plain http (the note shown)")

    # Joining still works; the screen-share button is not offered, the rest of the bar is.
    await join(page, lan.url, "over-http", "Lan")
    assert await page.locator("#btn-share").is_hidden()
    assert await page.get_by_role("button", name="Chat").is_visible()

    # The same page at 127.0.0.1 (a secure context) offers screen sharing and says nothing of the kind.
    local = await browsers.page("local")
    await join(local, server.url, "secure-here", "Local")
    assert await local.locator("#btn-share").is_visible()
    assert await local.locator("#device-note").is_hidden()

    # Watching and chatting over plain http works.
    other = await browsers.page("other")
    await join(other, lan.url, "over-http", "Other")
    await send_chat(page, "hello from plain http")
    await eventually(lambda: has_chat(other, "hello from plain http"), "the chat reaches the other person")


async def test_the_insecure_context_note_in_korean(browsers: Browsers, make_server) -> None:
    """The same cause and fix in the Korean catalog, for a browser that asks for Korean."""
    lan: RunningServer = await make_server(host=LAN_HOST)
    page = await a11y_page(browsers, "lan-ko", locale="ko-KR")
    await open_room(page, lan.url, "over-http-ko", "지민")
    assert await page.evaluate("() => document.documentElement.lang") == "ko"

    note = page.locator("#device-note")
    await note.wait_for(state="visible")
    text = await note.text_content() or ""
    assert text == translate("ko", "device.insecure"), text
    assert "안전하지 않아서" in text and "카메라와 마이크를 막고" in text, text  # the cause
    assert "https://" in text and "--tls-self-signed" in text, text  # the fix
    assert "보고 채팅할 수 있어요" in text, text  # what still works
    assert translate("ko", "device.no_devices") not in text and "No camera" not in text, text
    await assert_no_serious_violations(page, "the Korean pre-join page over plain http (the note shown)")

    await join(page, lan.url, "over-http-ko", "지민")
    assert await page.locator("#btn-share").is_hidden()
    assert await page.get_by_role("button", name=translate("ko", "chat.title")).is_visible()


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_firefox_over_plain_http_names_the_cause_in_both_languages(
    lang: str, firefox: Firefoxes, make_server
) -> None:
    """Firefox too gives an insecure page no camera or microphone; the note says why in the chosen language."""
    lan: RunningServer = await make_server(host=LAN_HOST)
    page = await firefox.page(f"lan-{lang}")
    await page.goto(f"{lan.url}/?lang={lang}")  # the lobby's switch, which the room page remembers
    await open_room(page, lan.url, f"firefox-http-{lang}", "Fiona")
    assert await page.evaluate("() => [window.isSecureContext, document.documentElement.lang]") == [False, lang]
    await eventually(lambda: note_shown(page), "the device note is shown")
    assert await page.evaluate("() => document.getElementById('device-note').textContent") == translate(
        lang, "device.insecure"
    )
    await join(page, lan.url, f"firefox-http-{lang}", "Fiona")
    assert not await visible(page, "#btn-share")
    assert await visible(page, "#btn-chat")
    assert page.errors == []


async def note_shown(page: FirefoxPage) -> bool:
    return await visible(page, "#device-note")
