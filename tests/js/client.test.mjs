import assert from "node:assert/strict";
import { mock, test } from "node:test";

import { ACK_TIMEOUT_MS, Client, connect, RECONNECT, timeoutAck } from "../../web/static/js/client.js";
import { FakeSocket, quietLog } from "./fake_socket.mjs";

const ALICE = { peerId: "p-alice", name: "Alice", kind: "human", role: null, audio: true, video: true, screen: false, hand: false };
const BOB = { peerId: "p-bob", name: "Bob", kind: "human", role: null, audio: true, video: false, screen: false, hand: false };

const mocked = new WeakSet();

/** A client on a fake socket; the test's timers are mocked, so a request left unanswered holds nothing up. */
function setup(t, options = {}) {
  if (!mocked.has(t)) t.mock.timers.enable({ apis: ["setTimeout"] });
  mocked.add(t);
  const socket = new FakeSocket();
  const log = quietLog();
  const client = new Client(socket, { log, ...options });
  return { socket, client, log };
}

/** Join as ``payload`` and let the fake server accept with ``peers`` in the room. */
async function joined(client, socket, peers = [ALICE], payload = { room: "r1", name: "Me" }) {
  const pending = client.join(payload);
  socket.last("join").ack({ ok: true, peerId: "p-me", room: payload.room, peers, iceServers: [], chat: [], state: null });
  return pending;
}

test("connect passes our reconnect pacing and the transports to the io factory", (t) => {
  let seen = null;
  const socket = connect((options) => ((seen = options), "socket"), { transports: ["websocket"] });
  assert.equal(socket, "socket");
  assert.deepEqual(seen, { transports: ["websocket"], ...RECONNECT });
});

test("a request resolves to the server's ack", async (t) => {
  const { socket, client } = setup(t);
  const pending = client.request("chat", { text: "hi" });
  const sent = socket.last("chat");
  assert.deepEqual(sent.payload, { text: "hi" });
  sent.ack({ ok: true, message: { id: "m1" } });
  assert.deepEqual(await pending, { ok: true, message: { id: "m1" } });
});

test("a refused request resolves (never rejects) and is logged", async (t) => {
  const { socket, client, log } = setup(t);
  const pending = client.request("lock", { locked: true });
  socket.last("lock").ack({ ok: false, error: { code: "not-allowed", message: "only the host" } });
  const ack = await pending;
  assert.equal(ack.error.code, "not-allowed");
  assert.ok(log.lines.some(([level, text]) => level === "warn" && text.includes("lock refused")));
});

test("a request with no ack resolves to a timeout after ACK_TIMEOUT_MS, and a late ack changes nothing", async (t) => {
  const { socket, client } = setup(t);
  let answer = null;
  const pending = client.request("rooms", {}).then((ack) => (answer = ack));
  t.mock.timers.tick(ACK_TIMEOUT_MS - 1);
  await Promise.resolve();
  assert.equal(answer, null);
  t.mock.timers.tick(1);
  assert.deepEqual(await pending, timeoutAck());
  socket.last("rooms").ack({ ok: true, rooms: [] }); // too late: ignored
  assert.deepEqual(answer, timeoutAck());
});

test("the ack timeout is configurable", async (t) => {
  const { client } = setup(t, { ackTimeoutMs: 50 });
  const pending = client.request("leave", {});
  t.mock.timers.tick(50);
  assert.equal((await pending).error.code, "timeout");
});

test("a join ack fills the peer table and our peerId", async (t) => {
  const { socket, client } = setup(t);
  const ack = await joined(client, socket, [ALICE, BOB]);
  assert.equal(ack.ok, true);
  assert.equal(client.selfId, "p-me");
  assert.deepEqual(client.peers.list(), [ALICE, BOB]);
  // The table holds copies: the ack's objects are not changed by later updates.
  socket.push("media", { peerId: "p-alice", audio: false });
  assert.equal(ALICE.audio, true);
});

test("a refused join leaves the table empty and nothing to re-join", async (t) => {
  const { socket, client } = setup(t);
  const pending = client.join({ room: "r1", name: "Me" });
  socket.last("join").ack({ ok: false, error: { code: "room-full", message: "full" } });
  assert.equal((await pending).error.code, "room-full");
  assert.equal(client.peers.size, 0);
  assert.equal(client.joined, null);
});

test("peer-joined, peer-renamed, media and peer-left update the table, then reach subscribers", async (t) => {
  const { socket, client } = setup(t);
  await joined(client, socket);
  const seen = [];
  client.subscribe({
    "peer-joined": (peer) => seen.push(["joined", peer.name, client.peers.has(peer.peerId)]),
    "peer-renamed": (peer) => seen.push(["renamed", peer.name]),
    media: ({ peer, before }) => seen.push(["media", peer.hand, before.hand]),
    "peer-left": ({ peer, reason }) => seen.push(["left", peer.name, reason, client.peers.has(peer.peerId)]),
  });
  socket.push("peer-joined", BOB);
  socket.push("peer-joined", BOB); // a duplicate changes nothing
  socket.push("peer-renamed", { peerId: "p-bob", name: "Robert" });
  socket.push("media", { peerId: "p-bob", hand: true });
  assert.deepEqual(client.peers.get("p-bob"), { ...BOB, name: "Robert", hand: true });
  socket.push("peer-left", { peerId: "p-bob", reason: "disconnected" });
  socket.push("peer-left", { peerId: "p-nobody", reason: "left" }); // unknown: ignored
  socket.push("media", { peerId: "p-nobody", audio: false });
  assert.deepEqual(seen, [
    ["joined", "Bob", true],
    ["renamed", "Robert"],
    ["media", true, false],
    ["left", "Robert", "disconnected", false],
  ]);
  assert.deepEqual(client.peers.list(), [ALICE]);
});

test("applyMedia: our own accepted host action updates the table like a media push", async (t) => {
  const { socket, client } = setup(t);
  await joined(client, socket);
  const seen = [];
  client.on("media", ({ peer }) => seen.push(peer.video));
  client.applyMedia({ peerId: "p-alice", video: false });
  assert.deepEqual(seen, [false]);
  assert.equal(client.peers.get("p-alice").video, false);
});

test("other server events pass straight through, and unsubscribing stops them", (t) => {
  const { socket, client } = setup(t);
  const seen = [];
  const off = client.on("chat", (message) => seen.push(message.text));
  client.on("chat", (message) => seen.push(`again ${message.text}`));
  socket.push("chat", { text: "one" });
  off();
  socket.push("chat", { text: "two" });
  assert.deepEqual(seen, ["one", "again one", "again two"]);
});

test("a handler that throws is logged and does not stop the others", (t) => {
  const { socket, client, log } = setup(t);
  const seen = [];
  client.on("rooms", (t) => {
    throw new Error("boom");
  });
  client.on("rooms", ({ rooms }) => seen.push(rooms.length));
  socket.push("rooms", { rooms: [1, 2] });
  assert.deepEqual(seen, [2]);
  assert.ok(log.lines.some(([level, text]) => level === "error" && text.includes("rooms")));
});

test("after a reconnect the client joins again with the same payload (less the ticket) and a fresh table", async (t) => {
  const { socket, client } = setup(t);
  await joined(client, socket, [ALICE], { room: "r1", name: "Me", password: "pw", ticket: "t-1" });
  const seen = [];
  client.subscribe({
    lost: (reason) => seen.push(["lost", reason]),
    rejoining: () => seen.push(["rejoining", client.peers.size]),
    rejoined: (ack) => seen.push(["rejoined", ack.ok, client.peers.list().map((p) => p.name)]),
  });
  socket.drop("transport close");
  assert.equal(socket.sent.filter((m) => m.event === "join").length, 1); // nothing until we are back
  socket.reconnect();
  const again = socket.last("join");
  assert.deepEqual(again.payload, { room: "r1", name: "Me", password: "pw" });
  again.ack({ ok: true, peerId: "p-me2", peers: [BOB], iceServers: [], chat: [], state: null });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, [
    ["lost", "transport close"],
    ["rejoining", 0],
    ["rejoined", true, ["Bob"]],
  ]);
  assert.equal(client.selfId, "p-me2");
  // And again after the next blip.
  socket.drop();
  socket.reconnect();
  assert.equal(socket.sent.filter((m) => m.event === "join").length, 3);
});

test("a refused re-join ends the room for the client: no further re-joins", async (t) => {
  const { socket, client } = setup(t);
  await joined(client, socket);
  const pending = new Promise((resolve) => client.on("rejoined", resolve));
  socket.drop();
  socket.reconnect();
  socket.last("join").ack({ ok: false, error: { code: "waiting", message: "wait" } });
  assert.equal((await pending).error.code, "waiting");
  assert.equal(client.joined, null);
  socket.drop();
  socket.reconnect();
  assert.equal(socket.sent.filter((m) => m.event === "join").length, 2);
});

test("a reconnect without a lost connection, or after leave, or with rejoin off, sends no join", async (t) => {
  const { socket, client } = setup(t);
  await joined(client, socket);
  socket.reconnect(); // a connect event without a drop before it
  assert.equal(socket.sent.filter((m) => m.event === "join").length, 1);
  const leaving = client.leave();
  assert.deepEqual(socket.last("leave").payload, {});
  socket.last("leave").ack({ ok: true });
  await leaving;
  assert.equal(client.peers.size, 0);
  socket.drop();
  socket.reconnect();
  assert.equal(socket.sent.filter((m) => m.event === "join").length, 1);

  const echo = setup(t);
  const pending = echo.client.join({ room: "echo-1", name: "Me" }, { rejoin: false });
  echo.socket.last("join").ack({ ok: true, peerId: "p-me", peers: [ALICE] });
  await pending;
  assert.equal(echo.client.peers.size, 1);
  echo.socket.drop();
  echo.socket.reconnect();
  assert.equal(echo.socket.sent.filter((m) => m.event === "join").length, 1);
});

test("the server closing the connection on purpose is reported as closed, not lost", async (t) => {
  const { socket, client } = setup(t);
  await joined(client, socket);
  const seen = [];
  client.subscribe({ lost: () => seen.push("lost"), closed: (reason) => seen.push(`closed: ${reason}`) });
  socket.drop("io server disconnect");
  socket.reconnect();
  assert.deepEqual(seen, ["closed: io server disconnect"]);
  assert.equal(socket.sent.filter((m) => m.event === "join").length, 1);
});

test("a client-side disconnect while out of a room says nothing", (t) => {
  const { socket, client } = setup(t);
  const seen = mock.fn();
  client.subscribe({ lost: seen, closed: seen });
  socket.drop("io client disconnect");
  assert.equal(seen.mock.callCount(), 0);
});

test("close leaves, closes the socket and forgets the room", async (t) => {
  const { socket, client } = setup(t);
  await joined(client, socket);
  let closed = false;
  socket.close = () => (closed = true);
  client.close();
  assert.deepEqual(socket.last("leave").payload, {});
  assert.equal(closed, true);
  assert.equal(client.peers.size, 0);
  assert.equal(client.joined, null);
});
