"""The core call flow of protocol v1 between two clients."""

from __future__ import annotations


async def test_two_peers_join_relay_chat_and_leave(clients) -> None:
    alice, bob = await clients(), await clients()
    a = await alice.join("demo", "Alice")
    assert a["peers"] == [] and a["iceServers"] == [] and a["chat"] == []
    b = await bob.join("demo", "Bob")
    assert [p["peerId"] for p in b["peers"]] == [alice.peer_id]
    joined = await alice.next("peer-joined")
    assert joined == {
        "peerId": bob.peer_id, "name": "Bob", "kind": "human", "role": None,
        "audio": True, "video": True, "screen": False, "hand": False, "handAt": None,
    }  # fmt: skip

    assert await bob.call("offer", {"to": alice.peer_id, "sdp": "v=0 offer"}) == {"ok": True}
    assert await alice.next("offer") == {"from": bob.peer_id, "sdp": "v=0 offer"}
    assert await alice.call("answer", {"to": bob.peer_id, "sdp": "v=0 answer"}) == {"ok": True}
    assert await bob.next("answer") == {"from": alice.peer_id, "sdp": "v=0 answer"}
    candidate = {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    assert await bob.call("ice", {"to": alice.peer_id, "candidate": candidate}) == {"ok": True}
    assert await alice.next("ice") == {"from": bob.peer_id, "candidate": candidate}

    ack = await alice.call("chat", {"text": "hi"})
    assert ack["ok"] and ack["message"]["text"] == "hi" and ack["message"]["from"] == alice.peer_id
    assert await bob.next("chat") == ack["message"]

    assert await bob.call("leave", {}) == {"ok": True}
    assert await alice.next("peer-left") == {"peerId": bob.peer_id, "reason": "left"}
