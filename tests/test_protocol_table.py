"""docs/protocol.md and the protocol table name the same events."""

import re
from pathlib import Path
from typing import get_args

from noom.protocol import CLIENT_EVENTS, SERVER_EVENTS, ErrorCode

DOC = (Path(__file__).parent.parent / "docs" / "protocol.md").read_text()


def _table_events(start: str, end: str) -> set[str]:
    section = DOC[DOC.index(start) : DOC.index(end)]
    return set(re.findall(r"^\| `([a-z-]+)`", section, re.M))


def test_every_client_event_is_documented_and_every_documented_one_is_in_the_table() -> None:
    assert _table_events("## 4. Client", "## 5. Server") == set(CLIENT_EVENTS)


def test_every_server_event_is_documented_and_every_documented_one_is_in_the_table() -> None:
    assert _table_events("## 5. Server", "## 6. Limits") == set(SERVER_EVENTS)


def test_the_documented_error_codes_are_the_protocols() -> None:
    assert _table_events("## 2. Requests", "## 3. Objects") == set(get_args(ErrorCode))
