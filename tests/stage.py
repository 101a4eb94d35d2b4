"""What a person sees of the stage, read from any page (Chromium or Firefox, the ``AnyPage`` interface): who has
it and whether they are clearly the largest, a plain grid, the numbers of raised hands, the reactions over tiles.
The layout tests of tests/test_browser_layouts.py and tests/test_browser_firefox.py share them."""

from __future__ import annotations

from typing import Any

from .browser_fixtures import AnyPage, remote_tile, tiles


def _named(shown: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """``name``'s tile, the page's own (labelled "Name (you)") included."""
    return next((t for t in shown if t["name"].removesuffix(" (you)") == name), None)


async def on_stage(page: AnyPage, name: str) -> dict[str, Any] | None:
    """``name``'s tile when it has the stage and is clearly the largest there, else None."""
    shown = await tiles(page)
    mine = _named(shown, name)
    if not mine or not mine["featured"]:
        return None
    others = [t["height"] for t in shown if t is not mine]
    return mine if others and mine["height"] > 1.8 * max(others) else None


async def grid(page: AnyPage) -> bool:
    """No tile featured and all of them the same height."""
    shown = await tiles(page)
    heights = [t["height"] for t in shown]
    return not any(t["featured"] for t in shown) and max(heights) - min(heights) <= 2


async def stage_view(page: AnyPage) -> dict[str, Any]:
    """The page's own account of its stage: ``{"speaker": peerId | None, "pinned": peerId | None, ...}``."""
    return await page.evaluate("() => window.noom.stage()")


async def strip_height(page: AnyPage) -> int:
    """The tallest tile that is not on the stage."""
    return max(t["height"] for t in await tiles(page) if not t["featured"])


async def video_taller(page: AnyPage, name: str, height: float) -> bool:
    """``name``'s video arrives at least ``height`` px tall (the sender sized it up for a bigger tile)."""
    tile = await remote_tile(page, name)
    return bool(tile and tile["videoHeight"] >= height)


def peer_of(shown: list[dict[str, Any]], name: str) -> str | None:
    tile = _named(shown, name)
    return tile["peerId"] if tile else None


async def hand_place(page: AnyPage, name: str) -> str:
    """The number on ``name``'s raised hand ("1", "2", …), "" when it is down."""
    tile = _named(await tiles(page), name)
    return tile["handPlace"] if tile else ""


async def places_are(page: AnyPage, expected: dict[str, str]) -> bool:
    return {t["name"].removesuffix(" (you)"): t["handPlace"] for t in await tiles(page)} == expected


async def reaction_over(page: AnyPage, name: str, emoji: str) -> bool:
    """``emoji`` floats over ``name``'s tile."""
    tile = _named(await tiles(page), name)
    return bool(tile and emoji in tile["reactions"])


async def no_reactions(page: AnyPage) -> bool:
    return not any(t["reactions"] for t in await tiles(page))
