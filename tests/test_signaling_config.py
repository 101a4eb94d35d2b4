"""Configuration: CLI flags and NOOM_* variables parse into Config, and the server follows Config."""

from __future__ import annotations

import json
import os

import pytest

from noom.cli import build_parser
from noom.config import Config

ICE = [{"urls": "turn:10.99.0.1:3478", "username": "noom", "credential": "secret"}, {"urls": ["stun:10.99.0.1"]}]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NOOM_"):
            monkeypatch.delenv(name)


def parse(*argv: str) -> Config:
    return Config.from_args(build_parser().parse_args(["serve", *argv]))


def test_defaults_are_the_documented_ones() -> None:
    config = parse()
    assert config == Config()
    assert (config.host, config.port, config.capacity, config.chat_history) == ("127.0.0.1", 3000, 8, 50)
    assert config.ice_servers == [] and config.cors_origins == [] and config.log_level == "info"


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "NOOM_HOST": "0.0.0.0",
        "NOOM_PORT": "8080",
        "NOOM_CAPACITY": "3",
        "NOOM_CHAT_HISTORY": "7",
        "NOOM_ICE_SERVERS": json.dumps(ICE),
        "NOOM_CORS_ORIGINS": "https://a.example, https://b.example",
        "NOOM_PING_INTERVAL": "5",
        "NOOM_PING_TIMEOUT": "2.5",
        "NOOM_LOG_LEVEL": "debug",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = parse()
    assert (config.host, config.port, config.capacity, config.chat_history) == ("0.0.0.0", 8080, 3, 7)
    assert config.ice_servers == ICE and config.cors_origins == ["https://a.example", "https://b.example"]
    assert (config.ping_interval, config.ping_timeout, config.log_level) == (5.0, 2.5, "debug")


def test_flags_win_over_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOOM_CAPACITY", "3")
    monkeypatch.setenv("NOOM_LOG_LEVEL", "error")
    config = parse("--capacity", "12", "--chat-history", "9", "--ice-servers", '[{"urls": "stun:10.99.0.1"}]')
    assert (config.capacity, config.chat_history, config.log_level) == (12, 9, "error")
    assert config.ice_servers == [{"urls": "stun:10.99.0.1"}]


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["--capacity", "0"], {}, "--capacity: must be at least 1, not 0"),
        (["--capacity", "many"], {}, "--capacity: must be a whole number, not 'many'"),
        (["--chat-history", "-1"], {}, "--chat-history: must be at least 1"),
        (["--ice-servers", "{"], {}, "--ice-servers: ICE servers must be a JSON list"),
        (["--ice-servers", '[{"url": "stun:x"}]'], {}, '--ice-servers: ICE servers must be a JSON list like [{"urls"'),
        (["--ping-interval", "soon"], {}, "--ping-interval: must be a number of seconds, not 'soon'"),
        (["--log-level", "loud"], {}, "--log-level: invalid choice: 'loud'"),
        ([], {"NOOM_CAPACITY": "zero"}, "NOOM_CAPACITY='zero' is not valid: must be a whole number"),
        ([], {"NOOM_ICE_SERVERS": "stun:x"}, "NOOM_ICE_SERVERS='stun:x' is not valid: ICE servers must be a JSON list"),
        ([], {"NOOM_LOG_LEVEL": "loud"}, "NOOM_LOG_LEVEL='loud' is not valid: choose from debug, info"),
    ],
)
def test_a_bad_value_gives_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], env: dict, says: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        parse(*argv)
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert says in lines[-1] and lines[-1].startswith("noom serve: error: "), lines
    assert not any("Traceback" in line for line in lines)


async def test_the_join_ack_hands_out_the_configured_ice_servers(make_server, connect) -> None:
    server = await make_server(ice_servers=ICE)
    alice = await connect(server)
    assert (await alice.join("demo"))["iceServers"] == ICE


async def test_capacity_and_chat_history_come_from_config(make_server, connect) -> None:
    server = await make_server(capacity=3, chat_history=2)
    members = []
    for i in range(3):
        member = await connect(server)
        await member.join("demo", f"P{i}")
        members.append(member)
    sent = [(await members[0].call("chat", {"text": f"m{i}"}))["message"] for i in range(4)]
    latecomer = await connect(server)
    assert await latecomer.refused("join", {"room": "demo", "name": "Late"}) == "room-full"
    await members[2].call("leave")
    assert (await latecomer.join("demo", "Late"))["chat"] == sent[-2:]
