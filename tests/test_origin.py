"""The origin check (issue 10): with ``--public-url`` the Host header is not trusted (DNS rebinding);
refused origins cost bounded memory and short, escaped log lines."""

from __future__ import annotations

import logging

import pytest
import socketio

from noom.signaling.limits import OriginPolicy, Throttle, warn_if_host_trusted


def test_with_a_public_url_the_host_header_is_not_trusted() -> None:
    policy = OriginPolicy(["https://partner.example"], ["https://meet.example.com"])
    rebinding = {"HTTP_HOST": "evil.example:3000"}  # an attacker's name resolving to us
    assert not policy("http://evil.example:3000", rebinding)
    assert policy("https://meet.example.com", rebinding)
    assert policy("https://partner.example", rebinding)
    assert policy(None, rebinding)
    # Without --public-url, today's behaviour: the request's own Host is our origin (localhost, LAN).
    assert OriginPolicy([])("http://evil.example:3000", rebinding)


def test_refused_origins_cost_bounded_memory_and_short_log_lines(caplog) -> None:
    policy = OriginPolicy([])
    with caplog.at_level(logging.WARNING, logger="noom.signaling.limits"):
        for i in range(5000):
            assert not policy(f"https://evil-{i}.example", {"HTTP_HOST": "noom.test"})
        assert not policy("https://" + "x" * 10_000 + "\n\u202efake log line", {"HTTP_HOST": "noom.test"})
    assert len(policy._warn) <= 1024
    longest = max(len(r.getMessage()) for r in caplog.records)
    assert longest < 400
    assert "\n" not in caplog.records[-1].getMessage() and "\u202e" not in caplog.records[-1].getMessage()
    throttle = Throttle(every=60, keep=2, clock=lambda: 0.0)
    assert throttle("a") and not throttle("a") and throttle("b") and throttle("c") and throttle("a")


async def test_a_public_url_refuses_pages_that_only_match_the_host_header(make_server) -> None:
    server = await make_server(public_url=["https://meet.example.com"])
    rebinding = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await rebinding.connect(server.url, transports=["websocket"], headers={"Origin": server.url})
    ours = socketio.AsyncClient(reconnection=False)
    await ours.connect(server.url, transports=["websocket"], headers={"Origin": "https://meet.example.com"})
    await ours.disconnect()


def test_public_urls_are_parsed_as_origins() -> None:
    import argparse

    from noom.config import _public_urls

    assert _public_urls("https://Meet.Example.com/, http://10.0.0.5:3000, https://a.example:443") == [
        "https://meet.example.com",
        "http://10.0.0.5:3000",
        "https://a.example",
    ]
    for bad in ("meet.example.com", "https://meet.example.com/room", "ftp://x"):
        with pytest.raises(argparse.ArgumentTypeError):
            _public_urls(bad)


def test_listening_beyond_loopback_without_a_public_url_warns(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="noom.signaling.limits"):
        warn_if_host_trusted("127.0.0.1", [])
        warn_if_host_trusted("::1", [])
        warn_if_host_trusted("0.0.0.0", ["https://meet.example.com"])
        assert not caplog.records
        warn_if_host_trusted("0.0.0.0", [])
    assert "without --public-url" in caplog.text
