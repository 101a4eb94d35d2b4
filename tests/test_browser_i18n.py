"""Issue 13, item 7 in real browsers: the lobby speaks Korean to a browser that asks for it (Accept-Language)
and to anyone who picks 한국어 on its switch, which the next pages remember; a call page in Korean has Korean
controls and notices while an English page in the same call stays English; the camera and mic test reports in
Korean; Firefox follows the switch too."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page

from noom.web.language import translate

# The module, not its names: a module-level chromium_extra_args would give every test here its cartoon camera.
from . import test_browser_screenshots as screenshots
from .browser_fixtures import AnyPage, Browsers, assert_receiving, join
from .firefox import Firefoxes
from .helpers import RunningServer
from .support import eventually

HANGUL = re.compile("[가-힣]")
LANG_AND_HEADLINE = "() => [document.documentElement.lang, document.querySelector('h1').textContent]"


async def test_lobby_in_korean_by_accept_language_and_by_the_switch(browsers: Browsers, server: RunningServer) -> None:
    korean = await browsers.page("korean", locale="ko-KR")
    await korean.goto(server.url + "/")
    assert await korean.evaluate(LANG_AND_HEADLINE) == ["ko", translate("ko", "lobby.headline")]
    await korean.get_by_text(translate("ko", "lobby.no_rooms")).wait_for()
    assert await korean.title() == translate("ko", "lobby.page_title")
    await korean.get_by_role("button", name=translate("ko", "lobby.go")).wait_for()

    # A browser in English gets English; the switch makes it Korean, on this page and the next ones.
    english = await browsers.page("english")
    await english.goto(server.url + "/")
    assert await english.evaluate(LANG_AND_HEADLINE) == ["en", "Video calls that just work."]
    switch = english.get_by_role("navigation", name="Language")
    assert await switch.get_by_role("link", name="English").get_attribute("aria-current") == "true"
    await switch.get_by_role("link", name="한국어").click()
    await eventually(
        lambda: english.evaluate("() => document.documentElement.lang === 'ko'"), "the lobby reloads in Korean"
    )
    assert (await english.evaluate(LANG_AND_HEADLINE))[1] == translate("ko", "lobby.headline")
    # The room list, drawn by the page's script, speaks the page's language.
    await english.get_by_text(translate("ko", "lobby.no_rooms")).wait_for()

    await english.goto(server.url + "/r/remembered")
    assert await english.evaluate("() => document.documentElement.lang") == "ko"
    await english.get_by_role("heading", name=translate("ko", "prejoin.title")).wait_for()
    await english.get_by_text(translate("ko", "join.nobody_here")).wait_for()  # the script's words

    # And back to English by the switch (now labelled in Korean).
    await english.goto(server.url + "/")
    await (
        english.get_by_role("navigation", name=translate("ko", "lobby.language"))
        .get_by_role("link", name="English")
        .click()
    )
    await eventually(lambda: english.evaluate("() => document.documentElement.lang === 'en'"), "back in English")
    await english.goto(server.url + "/echo")
    await english.get_by_role("button", name="Start the test").wait_for()


async def test_call_page_in_korean_has_korean_controls_and_notices(browsers: Browsers, make_server) -> None:
    server: RunningServer = await make_server(bots=False)  # so that Record is refused: a server's refusal
    jimin = await browsers.page("jimin", locale="ko-KR")
    await join(jimin, server.url, "hanguk", "지민")
    for key in ("bar.mic", "bar.camera", "bar.share", "bar.hand", "chat.title", "people.label", "bar.leave"):
        assert await jimin.get_by_role("button", name=translate("ko", key), exact=True).is_visible(), key
    assert await jimin.locator("#btn-mic").get_attribute("data-tip") == translate("ko", "bar.mute_tip")
    assert await jimin.locator("#stage .tile.self .name").text_content() == translate("ko", "people.you", name="지민")

    # An English speaker joins the same call: each page speaks its own language.
    sam = await browsers.page("sam")
    await join(sam, server.url, "hanguk", "Sam")
    await jimin.get_by_text(translate("ko", "call.joined", name="Sam")).wait_for()
    await sam.get_by_role("button", name="Share screen").wait_for()

    # Toggles say their new state in Korean; the People panel and the host's controls are Korean.
    await jimin.locator("#btn-mic").click()
    await eventually(
        lambda: has_tip(jimin, "#btn-mic", translate("ko", "bar.unmute_tip")), "the mic button offers to unmute"
    )
    await jimin.locator("#btn-people").click()
    await jimin.get_by_role("group", name=translate("ko", "host.controls")).wait_for()
    await jimin.get_by_role("button", name=translate("ko", "host.remove_name", name="Sam")).wait_for()
    await jimin.get_by_text(translate("ko", "people.host"), exact=True).wait_for()

    # The server refuses in English (no-bots); the Korean page words the refusal from its code.
    await jimin.locator("#btn-record").click()
    await jimin.locator("#toasts").get_by_text(translate("ko", "error.no-bots")).wait_for()

    # Leaving: the page that follows is Korean too.
    await jimin.locator("#btn-leave").click()
    await jimin.get_by_role("heading", name=translate("ko", "left.title")).wait_for()
    await jimin.get_by_role("button", name=translate("ko", "left.rejoin")).wait_for()


async def has_tip(page: AnyPage, selector: str, tip: str) -> bool:
    return await page.evaluate("([s, tip]) => document.querySelector(s).dataset.tip === tip", [selector, tip])


async def test_firefox_follows_the_switch_into_a_korean_call(firefox: Firefoxes, server: RunningServer) -> None:
    fiona = await firefox.page("fiona")
    await fiona.goto(server.url + "/?lang=ko")
    assert await fiona.evaluate(LANG_AND_HEADLINE) == ["ko", translate("ko", "lobby.headline")]
    await join(fiona, server.url, "firefox-ko", "Fiona")
    labels = await fiona.evaluate(
        "() => ['btn-mic', 'btn-share', 'btn-chat', 'btn-leave'].map((id) => document.getElementById(id).ariaLabel"
        " || document.getElementById(id).getAttribute('aria-label'))"
    )
    assert labels == [translate("ko", key) for key in ("bar.mic", "bar.share", "chat.title", "bar.leave")]
    name = await fiona.evaluate("() => document.querySelector('#stage .tile.self .name').textContent")
    assert name == translate("ko", "people.you", name="Fiona")
    assert fiona.errors == []


async def test_echo_page_in_korean(browsers: Browsers, make_server) -> None:
    """The camera and mic test speaks Korean: its buttons, its status, the bot's verdict and the figures' names."""
    server: RunningServer = await make_server(echo_max_sessions=1)
    page = await browsers.page("echo-ko", locale="ko-KR")
    await page.goto(server.url + "/echo")
    await page.get_by_role("button", name=translate("ko", "echo.start")).click()
    await page.get_by_text(translate("ko", "echo.connected")).wait_for()
    stats = page.locator("#server-stats")
    await stats.get_by_text(re.compile("^640×480, 초당 [0-9]+프레임$")).wait_for()  # echo.video_received
    verdicts = {translate("ko", key) for key in ("echo.verdict_ok", "echo.verdict_bad")}
    await eventually(lambda: verdict_in(page, verdicts), "the bot's verdict, in Korean")
    for key in ("devices.camera", "devices.microphone", "echo.packet_loss"):
        await stats.get_by_text(translate("ko", key), exact=True).wait_for()
    await page.locator("#stats").get_by_text(translate("ko", "echo.rtt"), exact=True).wait_for()
    # Whatever the bot found (a slow machine may drop frames), it is said in Korean.
    problems = await page.locator("#problems li").all_text_contents()
    assert all(HANGUL.search(text) for text in problems), problems
    await page.get_by_role("button", name=translate("ko", "echo.stop"), exact=True).click()
    await page.get_by_text(translate("ko", "echo.stopped")).wait_for()


async def verdict_in(page: AnyPage, texts: set[str]) -> bool:
    return await page.evaluate("() => document.getElementById('verdict').textContent") in texts


async def test_screenshot_of_a_call_in_korean(browsers: Browsers, server: RunningServer, tmp_path: Path) -> None:
    """The README's Korean screenshot: a two-person call with chat open, on pages switched to Korean."""
    screenshots.SHOTS.mkdir(parents=True, exist_ok=True)
    camera = screenshots.chromium_extra_args(tmp_path)
    jimin, _ = await browsers.separate_page("jimin", camera, viewport=screenshots.SIZE)
    seojun, _ = await browsers.separate_page("seojun", camera)
    for page in (jimin, seojun):
        await page.goto(server.url + "/?lang=ko")  # the lobby's switch
    await join(jimin, server.url, "weekly-sync", "김지민")
    await join(seojun, server.url, "weekly-sync", "박서준")
    await assert_receiving(jimin, "박서준")
    for page in (jimin, seojun):
        await page.locator("#btn-chat").click()
    await say(seojun, "안녕하세요! 화면 잘 보여요?")
    await jimin.locator("#chat-list .chat-text").filter(has_text="화면 잘 보여요").wait_for()
    await say(jimin, "네, 잘 보여요. 회의 시작할까요?")
    await eventually(lambda: no_toasts(jimin), "the toasts have faded", timeout=15)
    await jimin.screenshot(path=str(screenshots.SHOTS / "korean.png"))
    assert (screenshots.SHOTS / "korean.png").stat().st_size > 10_000


async def say(page: Page, text: str) -> None:
    await page.fill("#chat-input", text)
    await page.get_by_role("button", name=translate("ko", "chat.send_label")).click()


async def no_toasts(page: AnyPage) -> bool:
    return await page.evaluate("() => document.querySelectorAll('.toast').length === 0")
