"""Real Chromium calls through Noom: two people, then a third who joins and leaves."""

from __future__ import annotations

from .browser_fixtures import Browsers, assert_receiving, join
from .helpers import RunningServer


async def test_two_browsers_see_and_hear_each_other(browsers: Browsers, server: RunningServer) -> None:
    alice = await browsers.page("alice")
    bob = await browsers.page("bob")
    await join(alice, server.url, "duo", "Alice")
    await join(bob, server.url, "duo", "Bob")
    await assert_receiving(alice, "Bob")
    await assert_receiving(bob, "Alice")
