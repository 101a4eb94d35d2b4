"""Room authority over the protocol: who may do what. Bots prove themselves, the host moderates (mute, remove,
lock, waiting room, end), and everyone else is refused with ``not-allowed``."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio

from noom.app import SIGNALING_KEY
from noom.secret import CLIENT_COOKIE, SECRET_KEY

from .helpers import Client, RunningServer, assert_silent, peer
from .support import eventually

HOST_ONLY = [
    ("host", {"peerId": "x"}),
    ("mute", {"peerId": "x", "kind": "audio"}),
    ("ask-unmute", {"peerId": "x", "kind": "video"}),
    ("remove", {"peerId": "x"}),
    ("lock", {"locked": True}),
    ("waiting-room", {"enabled": True}),
    ("admit", {"id": "x"}),
    ("decline", {"id": "x"}),
    ("end", {}),
]


async def test_a_human_cannot_pose_as_a_bot(server: RunningServer, clients, joined) -> None:
    alice = await joined("demo", "Alice")
    faker = await clients()
    assert await faker.refused("join", {"room": "demo", "name": "Recorder", "kind": "bot", "role": "recorder"}) == (
        "not-allowed"
    )
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Client(server.url, {"botSecret": "guess"}).connect()
    real = await clients(auth=server.bot_auth)
    await real.join("demo", "Recorder", kind="bot", role="recorder")
    assert await alice.next("peer-joined") == peer(real.peer_id, "Recorder", kind="bot", role="recorder")
    # One recorder per room, even among bots.
    second = await clients(auth=server.bot_auth)
    code = await second.refused("join", {"room": "demo", "name": "Rec 2", "kind": "bot", "role": "recorder"})
    assert code == "already-recording"


async def test_only_the_host_moderates(joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    for event, payload in HOST_ONLY:
        assert await bob.refused(event, payload) == "not-allowed", event
    await alice.next("peer-joined")
    # The host's own actions on a peer that is not there are refused, not carried out.
    assert await alice.refused("remove", {"peerId": "nobody"}) == "unknown-peer"
    assert await alice.refused("remove", {"peerId": alice.peer_id}) == "unknown-peer"


async def test_host_hands_over_and_the_longest_present_takes_over(joined) -> None:
    alice, bob, carol = await joined("demo", "Alice"), await joined("demo", "Bob"), await joined("demo", "Carol")
    assert await alice.call("host", {"peerId": carol.peer_id}) == {"ok": True}
    for client in (alice, bob, carol):
        assert (await client.next("room-state"))["host"] == carol.peer_id
    assert await alice.refused("lock", {"locked": True}) == "not-allowed"
    await carol.call("leave", {})
    for client in (alice, bob):
        assert (await client.next("room-state"))["host"] == alice.peer_id  # Alice has been there longest


async def test_mute_turns_a_peer_off_and_only_it_can_turn_back_on(joined) -> None:
    alice, bob = await joined("demo", "Alice"), await joined("demo", "Bob")
    assert await alice.call("mute", {"peerId": bob.peer_id, "kind": "audio"}) == {"ok": True}
    assert await bob.next("muted") == {"kind": "audio", "by": "Alice"}
    assert await alice.next("media") == {"peerId": bob.peer_id, "audio": False, "video": True, "screen": False,
                                         "hand": False, "handAt": None}  # fmt: skip
    assert await alice.call("ask-unmute", {"peerId": bob.peer_id, "kind": "audio"}) == {"ok": True}
    assert await bob.next("unmute-request") == {"kind": "audio", "by": "Alice"}
    assert (await bob.call("media", {"audio": True}))["ok"]  # Bob may, nobody else can
    assert (await alice.next("media"))["audio"] is True


async def test_removed_peer_is_disconnected_and_kept_out(make_server, connect) -> None:
    server = await make_server(removal_ban=1.0)
    alice, bob, carol = [await connect(server) for _ in range(3)]
    await alice.join("demo", "Alice")
    await bob.join("demo", "Bob")
    await carol.join("demo", "Carol")
    assert await alice.call("remove", {"peerId": bob.peer_id}) == {"ok": True}
    assert await bob.next("removed") == {"reason": "removed", "by": "Alice"}
    for client in (alice, carol):
        left = await client.next("peer-left")
        while left["peerId"] != bob.peer_id:
            left = await client.next("peer-left")
        assert left == {"peerId": bob.peer_id, "reason": "removed"}
    await eventually(lambda: not bob.sio.connected, "the removed socket closed", 10)
    # Bob comes back on a new socket from the same address (no browser cookie): refused for a while.
    again = await connect(server)
    ack = await again.call("join", {"room": "demo", "name": "Bob"})
    assert ack["error"]["code"] == "not-allowed" and "removed" in ack["error"]["message"]
    await asyncio.sleep(1.1)
    await again.join("demo", "Bob")


async def test_locked_room_refuses_newcomers_until_unlocked(joined, clients) -> None:
    alice = await joined("demo", "Alice")
    assert await alice.call("lock", {"locked": True}) == {"ok": True}
    assert (await alice.next("room-state"))["locked"] is True
    bob = await clients()
    assert await bob.refused("join", {"room": "demo", "name": "Bob"}) == "room-locked"
    await alice.call("lock", {"locked": False})
    await bob.join("demo", "Bob")


async def test_waiting_room_admit_decline_and_giving_up(joined, clients) -> None:
    alice = await joined("demo", "Alice", password="pw")
    assert await alice.call("waiting-room", {"enabled": True}) == {"ok": True}
    assert (await alice.next("room-state"))["waitingRoom"] is True
    bob, carol, dan = await clients(), await clients(), await clients()
    # The password still comes first.
    assert await bob.refused("join", {"room": "demo", "name": "Bob"}) == "wrong-password"
    waiting = await bob.call("join", {"room": "demo", "name": "Bob", "password": "pw"})
    assert waiting["ok"] is False and waiting["error"]["code"] == "waiting" and waiting["waitId"]
    queue = (await alice.next("waiting"))["waiting"]
    assert [(e["id"], e["name"]) for e in queue] == [(waiting["waitId"], "Bob")]
    await carol.call("join", {"room": "demo", "name": "Carol", "password": "pw"})
    await dan.call("join", {"room": "demo", "name": "Dan", "password": "pw"})
    await alice.next("waiting")
    queue = (await alice.next("waiting"))["waiting"]
    assert [e["name"] for e in queue] == ["Bob", "Carol", "Dan"]

    # Admit Bob: he gets a ticket and joins with it, past the waiting room.
    assert await alice.call("admit", {"id": queue[0]["id"]}) == {"ok": True}
    ticket = (await bob.next("admitted"))["ticket"]
    assert [e["name"] for e in (await alice.next("waiting"))["waiting"]] == ["Carol", "Dan"]
    assert await bob.refused("join", {"room": "demo", "name": "Bob", "ticket": ticket + "x"}) == "not-allowed"
    ack = await bob.join("demo", "Bob", ticket=ticket)
    assert ack["state"]["host"] == alice.peer_id

    # Decline Carol; Dan gives up (leaves the waiting room), so the queue empties.
    assert await alice.call("decline", {"id": queue[1]["id"]}) == {"ok": True}
    assert "did not let you in" in (await carol.next("declined"))["message"]
    await alice.next("waiting")
    assert await dan.call("leave", {}) == {"ok": True}
    assert (await alice.next("waiting"))["waiting"] == []
    assert await alice.refused("admit", {"id": queue[2]["id"]}) == "unknown-peer"


async def test_turning_the_waiting_room_off_lets_everyone_in(joined, clients) -> None:
    alice = await joined("demo", "Alice")
    await alice.call("waiting-room", {"enabled": True})
    bob = await clients()
    assert (await bob.call("join", {"room": "demo", "name": "Bob"}))["error"]["code"] == "waiting"
    await alice.call("waiting-room", {"enabled": False})
    ticket = (await bob.next("admitted"))["ticket"]
    await bob.join("demo", "Bob", ticket=ticket)


async def test_end_removes_everyone_and_the_room_goes(joined, clients) -> None:
    alice, bob, carol = await joined("demo", "Alice"), await joined("demo", "Bob"), await joined("demo", "Carol")
    assert await alice.call("end", {}) == {"ok": True}
    for client in (bob, carol):
        assert await client.next("removed") == {"reason": "ended", "by": "Alice"}
    lobby = await clients()
    assert (await lobby.call("rooms"))["rooms"] == []


async def test_recording_needs_a_member_and_stop_needs_a_recording(joined, clients) -> None:
    outsider = await clients()
    assert await outsider.refused("recording-start", {}) == "not-in-room"
    alice = await joined("demo", "Alice")
    assert await alice.refused("recording-stop", {}) == "not-recording"


async def test_ice_servers_refresh_for_members_only(joined, clients) -> None:
    outsider = await clients()
    assert await outsider.refused("ice-servers", {}) == "not-in-room"
    alice = await joined("demo", "Alice")
    assert await alice.call("ice-servers", {}) == {"ok": True, "iceServers": []}


async def test_bots_have_a_cap_of_their_own_not_their_address(make_server, connect) -> None:
    server = await make_server(max_connections_per_address=2, bots_max=1)
    await connect(server)
    await connect(server)  # the address (127.0.0.1, which our bots share) is full
    bot = await connect(server, auth=server.bot_auth)
    await bot.join("demo", "Probe", kind="bot", role="probe")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await Client(server.url, server.bot_auth).connect()  # past --bots-max
    await bot.close()
    await eventually(lambda: server.app[SIGNALING_KEY].bot_connections == 0, "the bot's place freed", 10)
    await connect(server, auth=server.bot_auth)


async def test_the_waiting_queue_is_bounded(joined, clients, monkeypatch) -> None:
    monkeypatch.setattr("noom.signaling.moderation.MAX_WAITING", 2)
    alice = await joined("demo", "Alice")
    await alice.call("waiting-room", {"enabled": True})
    for name in ("Bob", "Carol"):
        waiting = await (await clients()).call("join", {"room": "demo", "name": name})
        assert waiting["error"]["code"] == "waiting"
    assert await (await clients()).refused("join", {"room": "demo", "name": "Dan"}) == "room-full"


async def test_a_host_whose_connection_dropped_takes_the_role_back(server: RunningServer, connect) -> None:
    secret = server.app[SECRET_KEY]

    def browser(client_id: str) -> dict[str, str]:  # the signed client id the pages give every browser
        return {"Cookie": f"{CLIENT_COOKIE}={secret.sign('client', client_id, 3600)}"}

    alice = await connect(server, headers=browser("alice-laptop"))
    bob = await connect(server, headers=browser("bob-laptop"))
    await alice.join("demo", "Alice")
    await bob.join("demo", "Bob")
    await alice.sio.eio.disconnect(abort=True)  # the network drops: no leave
    assert (await bob.next("room-state"))["host"] == bob.peer_id
    # Someone else from the same address, without Alice's browser id, does not get it.
    stranger = await connect(server)
    ack = await stranger.join("demo", "Alice")
    assert ack["state"]["host"] == bob.peer_id
    await stranger.call("leave", {})
    back = await connect(server, headers=browser("alice-laptop"))
    ack = await back.join("demo", "Alice")
    assert ack["state"]["host"] == back.peer_id
    assert (await bob.next("room-state"))["host"] == back.peer_id
    # Leaving on purpose hands the role on for good.
    await back.call("leave", {})
    assert (await bob.next("room-state"))["host"] == bob.peer_id
    again = await connect(server, headers=browser("alice-laptop"))
    assert (await again.join("demo", "Alice"))["state"]["host"] == bob.peer_id


async def test_only_the_host_lowers_someone_elses_hand(joined) -> None:
    alice, bob, carol = [await joined("demo", name) for name in ("Alice", "Bob", "Carol")]
    for client, newcomers in ((alice, 2), (bob, 1)):
        for _ in range(newcomers):
            await client.next("peer-joined")
    assert (await bob.call("media", {"hand": True}))["ok"]
    for watcher in (alice, carol):
        assert (await watcher.next("media"))["hand"] is True
    assert await carol.refused("lower-hand", {"peerId": bob.peer_id}) == "not-allowed"
    assert await alice.call("lower-hand", {"peerId": bob.peer_id}) == {"ok": True}
    assert await bob.next("hand-lowered") == {"by": "Alice"}
    for watcher in (alice, bob, carol):  # the host's page and Bob's own show it too
        lowered = await watcher.next("media")
        assert lowered["peerId"] == bob.peer_id and lowered["hand"] is False and lowered["handAt"] is None
    # Lowering a hand that is down tells nobody anything.
    assert await alice.call("lower-hand", {"peerId": bob.peer_id}) == {"ok": True}
    assert await alice.refused("lower-hand", {"peerId": "nobody"}) == "unknown-peer"
    await assert_silent(alice, bob, carol)


async def test_a_page_gives_the_browser_a_signed_client_id_once(server: RunningServer) -> None:
    secret = server.app[SECRET_KEY]
    # unsafe: the jar keeps cookies of an IP address (the test server's 127.0.0.1), as browsers do.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(server.url + "/r/demo") as response:
            assert response.status == 200
            given = response.cookies[CLIENT_COOKIE]
        assert secret.verify("client", given.value) is not None
        assert given["httponly"] and given["samesite"] == "Lax"
        async with session.get(server.url + "/") as response:  # the browser has one: it keeps it
            assert CLIENT_COOKIE not in response.cookies
        async with session.get(server.url + "/static/css/app.css") as response:
            assert response.status == 200 and CLIENT_COOKIE not in response.cookies
    # A forged or expired id is replaced by a good one.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(server.url + "/", headers={"Cookie": f"{CLIENT_COOKIE}=forged"}) as response:
            assert secret.verify("client", response.cookies[CLIENT_COOKIE].value) is not None
