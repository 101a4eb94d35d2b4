"""What every bot shares (media.participant): a handler that fails is logged with its context and the bot
carries on; nothing ends as "Task exception was never retrieved"."""

from __future__ import annotations

import gc
import logging

import pytest

from noom.media.participant import Participant, guarded
from noom.protocol import Peer

from .helpers import Client, RunningServer
from .media_helpers import bot_credential
from .support import eventually


class FailingBot(Participant):
    """A bot whose hook raises, as a bug in any bot's handler would."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.changes = 0

    def on_peer_changed(self, peer: Peer) -> None:
        self.changes += 1
        raise RuntimeError("a bug in a bot")


async def test_a_failing_bot_handler_is_logged_not_raised(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    person = await Client(server.url).connect()
    await person.join("bugs", "Ada")
    bot = FailingBot(server.url, "bugs", "Buggy", bot_credential=bot_credential(server))
    await bot.start()
    try:
        with caplog.at_level(logging.ERROR):
            for n, muted in enumerate((True, False), 1):  # twice: the first failure did not break the bot
                assert (await person.call("media", {"audio": not muted}))["ok"]
                await eventually(lambda n=n: bot.changes == n, "the bot to get the media event", 10)
            await person.call("rename", {"name": "Ada L."})
            await eventually(lambda: bot.changes == 3, "the bot to get the rename", 10)
            gc.collect()  # an unretrieved task exception is reported when the task is collected
        failures = [
            r for r in caplog.records if r.name == "noom.media.participant" and "handler failed" in r.getMessage()
        ]
        assert len(failures) == 3, caplog.text
        assert "'media' event" in failures[0].getMessage() and "room 'bugs'" in failures[0].getMessage()
        assert failures[0].exc_info is not None and "a bug in a bot" in str(failures[0].exc_info[1])
        assert "never retrieved" not in caplog.text
        assert bot.sio.connected
    finally:
        await bot.stop()
        await person.close()


async def test_guarded_keeps_coroutine_handlers_coroutines(caplog: pytest.LogCaptureFixture) -> None:
    import inspect

    async def failing_async(x: int) -> int:
        raise ValueError(x)

    def failing(x: int) -> int:
        raise ValueError(x)

    wrapped_async = guarded(failing_async, lambda: "bot X", "'offer' event")
    wrapped = guarded(failing, lambda: "bot X", "'track' callback")
    # python-socketio and pyee call a handler differently depending on what it is.
    assert inspect.iscoroutinefunction(wrapped_async) and not inspect.iscoroutinefunction(wrapped)
    with caplog.at_level(logging.ERROR):
        assert await wrapped_async(1) is None
        assert wrapped(2) is None
    assert "bot X: the 'offer' event handler failed" in caplog.text
    assert "bot X: the 'track' callback handler failed" in caplog.text
