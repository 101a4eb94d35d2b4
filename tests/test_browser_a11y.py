"""Accessibility (issue 13, item 6): axe-core's WCAG 2.1 A/AA rules find no serious or critical violation on
the lobby, the pre-join page, the call page (chat, People with the host's controls, settings) and /echo, in English
and in Korean (the pages carry their language in <html lang>)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from noom.web.language import translate

from .browser_fixtures import ROOT, AnyPage, Browsers, join, open_room
from .helpers import RunningServer
from .support import eventually

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """(tags) => axe.run(document, {runOnly: {type: "tag", values: tags}}).then((r) => r.violations.map(
  (v) => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" "))})))"""


async def a11y_page(browsers: Browsers, label: str, locale: str | None = None) -> Page:
    # Our pages' CSP forbids inline scripts, and add_script_tag(path=...) injects the file's text inline: this
    # context alone (test tooling, never a person's browser) bypasses the CSP so that axe-core can be loaded.
    return await browsers.page(label, bypass_csp=True, locale=locale)


async def assert_no_serious_violations(page: AnyPage, where: str) -> None:
    """axe-core's WCAG 2.1 A/AA rules on ``page`` as it is now: no serious or critical violation. A Firefox page
    (tests/firefox.py) gets axe-core by evaluation, which WebDriver BiDi runs outside the page's CSP."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        if isinstance(page, Page):
            await page.add_script_tag(path=str(AXE))
        else:
            await page.evaluate(AXE.read_text() + "\n;true")
    violations: list[dict[str, Any]] = await page.evaluate(RUN_AXE, WCAG_TAGS)
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"axe-core on {where}:\n" + "\n".join(
        f"  {v['id']} ({v['impact']}: {v['help']}): {v['targets']}" for v in bad
    )


# Every page in each language (web/i18n/): the browser's language picks it (Playwright's default is en-US).
LOCALES = {"en": None, "ko": "ko-KR"}


@pytest.mark.parametrize("lang", LOCALES)
async def test_lobby_prejoin_and_echo_pages_pass_axe(lang: str, browsers: Browsers, server: RunningServer) -> None:
    page = await a11y_page(browsers, "visitor", LOCALES[lang])
    await page.goto(server.url + "/")
    await page.get_by_text(translate(lang, "lobby.no_rooms")).wait_for()
    assert await page.evaluate("() => document.documentElement.lang") == lang
    await assert_no_serious_violations(page, f"the lobby ({lang})")

    await open_room(page, server.url, "axe-room", "Visitor")
    await page.get_by_role("button", name=translate(lang, "prejoin.join"), exact=True).wait_for()
    await assert_no_serious_violations(page, f"the pre-join page ({lang})")

    await page.goto(server.url + "/echo")
    await page.get_by_role("button", name=translate(lang, "echo.start")).wait_for()
    await assert_no_serious_violations(page, f"the /echo page ({lang})")


@pytest.mark.parametrize("lang", LOCALES)
async def test_call_page_with_chat_people_and_settings_passes_axe(
    lang: str, browsers: Browsers, server: RunningServer
) -> None:
    alice = await a11y_page(browsers, "alice", LOCALES[lang])
    bob = await browsers.page("bob")
    await join(alice, server.url, "axe-call", "Alice")
    await join(bob, server.url, "axe-call", "Bob")
    await eventually(
        lambda: alice.evaluate("() => document.querySelectorAll('#stage .tile').length === 2"),
        "Bob's tile is on Alice's stage",
    )

    await alice.locator("#btn-chat").click()
    await alice.fill("#chat-input", "hello")
    await alice.get_by_role("button", name=translate(lang, "chat.send_label")).click()
    await alice.locator("#chat-list .chat-text").filter(has_text="hello").wait_for()
    await assert_no_serious_violations(alice, f"the call page with chat open ({lang})")

    await alice.locator("#btn-people").click()
    await alice.get_by_role("group", name=translate(lang, "host.controls")).wait_for()
    await alice.get_by_role("button", name=translate(lang, "host.remove_name", name="Bob")).wait_for()
    await assert_no_serious_violations(alice, f"the call page with the People panel open (host, {lang})")

    await alice.locator("#btn-people").click()
    await alice.locator("#side-people").wait_for(state="hidden")
    await alice.locator("#btn-settings").click()
    await alice.locator("#settings").wait_for(state="visible")
    await assert_no_serious_violations(alice, f"the call page with settings open ({lang})")
