// A second implementation of a Noom client, written from docs/protocol.md alone with socket.io-client 4 on
// Node.js. Two sockets (one on websocket, one on HTTP long-polling) go through join, offer/answer/ice relay,
// chat, media, rename, rooms, errors and leave, checking every ack and every event against the document.
// Usage: node tests/node/protocol_client.mjs http://127.0.0.1:PORT   (exits 1 on the first mismatch)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { io } = require("socket.io-client");

const URL_ = process.argv[2];
const WAIT_MS = 5000;
// The error codes are the table of §2 in the document itself, so this client can never fall behind it.
const ERROR_CODES = errorCodes(readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8"));
const ROOM = "conformance-1";

function errorCodes(doc) {
  const section = doc.slice(doc.indexOf("## 2. Requests"), doc.indexOf("## 3. Objects"));
  const codes = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((match) => match[1]);
  assert.ok(codes.length > 0, "docs/protocol.md §2 lists no error codes");
  return codes;
}

class Client {
  constructor(label, transports) {
    this.label = label;
    this.queues = new Map(); // event name -> payloads not consumed yet
    this.waiters = new Map(); // event name -> resolve functions waiting for the next payload
    this.socket = io(URL_, { path: "/socket.io", transports, reconnection: false, forceNew: true });
    this.socket.onAny((event, payload) => {
      const waiting = this.waiters.get(event);
      if (waiting?.length) waiting.shift()(payload);
      else this.queues.set(event, [...(this.queues.get(event) ?? []), payload]);
    });
  }

  connected() {
    return new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("connect_error", (err) => reject(new Error(`${this.label}: cannot connect: ${err.message}`)));
    });
  }

  // Every request carries an ack, and the ack is always one object of a documented shape.
  async request(event, payload) {
    const ack = await this.socket.timeout(WAIT_MS).emitWithAck(event, payload);
    assert.equal(typeof ack, "object", `${event} ack must be an object`);
    assert.equal(typeof ack.ok, "boolean", `${event} ack must have a boolean ok`);
    if (!ack.ok) {
      assert.deepEqual(Object.keys(ack).sort(), ["error", "ok"], `${event} failure ack keys`);
      assert.ok(ERROR_CODES.includes(ack.error.code), `${event}: undocumented error code ${ack.error.code}`);
      assert.equal(typeof ack.error.message, "string");
      assert.ok(ack.error.message.length > 0, "an error message says what was wrong");
    }
    return ack;
  }

  async refused(event, payload, code) {
    const ack = await this.request(event, payload);
    assert.equal(ack.ok, false, `${event} ${JSON.stringify(payload)} must be refused`);
    assert.equal(ack.error.code, code, `${event} ${JSON.stringify(payload)}: ${ack.error.message}`);
  }

  next(event) {
    const queued = this.queues.get(event);
    if (queued?.length) return Promise.resolve(queued.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no "${event}" within ${WAIT_MS} ms`)), WAIT_MS);
      const waiting = this.waiters.get(event) ?? [];
      waiting.push((payload) => {
        clearTimeout(timer);
        resolve(payload);
      });
      this.waiters.set(event, waiting);
    });
  }

  unexpected() {
    return [...this.queues].filter(([, items]) => items.length).map(([event, items]) => ({ event, items }));
  }
}

const peer = (peerId, name, state = {}) => ({
  peerId, name, kind: "human", role: null, audio: true, video: true, screen: false, hand: false, handAt: null, ...state,
});

async function main() {
  assert.ok(URL_, "usage: node protocol_client.mjs http://HOST:PORT");
  const ada = new Client("ada", ["websocket"]);
  const bea = new Client("bea", ["polling"]);
  await Promise.all([ada.connected(), bea.connected()]);
  assert.equal(ada.socket.io.engine.transport.name, "websocket");
  assert.equal(bea.socket.io.engine.transport.name, "polling");

  // rooms from the lobby
  assert.deepEqual(await ada.request("rooms", {}), { ok: true, rooms: [] });

  // Bea creates the room; Ada, in the lobby, is told.
  const beaJoin = await bea.request("join", { room: ROOM, name: "Bea" });
  assert.equal(beaJoin.ok, true, JSON.stringify(beaJoin));
  assert.deepEqual(Object.keys(beaJoin).sort(), ["chat", "iceServers", "ok", "peerId", "peers", "room", "state"]);
  assert.deepEqual(beaJoin.state, { host: beaJoin.peerId, locked: false, waitingRoom: false, recording: null });
  const beaId = beaJoin.peerId;
  assert.equal(typeof beaId, "string");
  assert.notEqual(beaId, bea.socket.id, "the peerId is not the socket id");
  assert.deepEqual([beaJoin.room, beaJoin.peers, beaJoin.chat], [ROOM, [], []]);
  assert.ok(Array.isArray(beaJoin.iceServers));
  assert.deepEqual(await ada.next("rooms"), { rooms: [{ room: ROOM, count: 1, locked: false }] });

  // Ada joins: her ack lists Bea, Bea gets peer-joined.
  const adaJoin = await ada.request("join", { room: ROOM, name: "  Ada  " });
  assert.equal(adaJoin.ok, true, JSON.stringify(adaJoin));
  const adaId = adaJoin.peerId;
  assert.deepEqual(adaJoin.peers, [peer(beaId, "Bea")]);
  assert.deepEqual(await bea.next("peer-joined"), peer(adaId, "Ada"));

  // Negotiation: the newcomer offers to every peer in its join ack; the answer and candidates come back.
  const offerSdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  assert.deepEqual(await ada.request("offer", { to: beaId, sdp: offerSdp }), { ok: true });
  assert.deepEqual(await bea.next("offer"), { from: adaId, sdp: offerSdp });
  const answerSdp = offerSdp.replace("o=- 1 1", "o=- 2 1");
  assert.deepEqual(await bea.request("answer", { to: adaId, sdp: answerSdp }), { ok: true });
  assert.deepEqual(await ada.next("answer"), { from: beaId, sdp: answerSdp });
  const candidate = {
    candidate: "candidate:1 1 udp 2122260223 10.99.0.1 50000 typ host",
    sdpMid: "0",
    sdpMLineIndex: 0,
    usernameFragment: "abcd",
  };
  assert.deepEqual(await ada.request("ice", { to: beaId, candidate }), { ok: true });
  assert.deepEqual(await bea.next("ice"), { from: adaId, candidate });
  assert.deepEqual(await bea.request("ice", { to: adaId, candidate }), { ok: true });
  assert.deepEqual(await ada.next("ice"), { from: beaId, candidate });
  assert.deepEqual(await ada.request("ice", { to: beaId, candidate: null }), { ok: true });
  assert.deepEqual(await bea.next("ice"), { from: adaId, candidate: null });

  // Chat
  const chatAck = await bea.request("chat", { text: "héllo 👋" });
  assert.equal(chatAck.ok, true);
  const message = chatAck.message;
  assert.deepEqual(Object.keys(message).sort(), ["from", "id", "name", "text", "ts"]);
  assert.deepEqual([message.from, message.name, message.text], [beaId, "Bea", "héllo 👋"]);
  assert.ok(Number.isInteger(message.ts) && Math.abs(Date.now() - message.ts) < 60_000, "ts is ms since the epoch");
  assert.deepEqual(await ada.next("chat"), message);

  // Media: the others get the full state.
  const mediaAck = await ada.request("media", { video: false, hand: true });
  const raised = await bea.next("media");
  assert.deepEqual(mediaAck, { ok: true, state: raised }, "the media ack carries the state the others get");
  assert.ok(Number.isInteger(raised.handAt), "a raised hand carries the time it went up");
  assert.deepEqual(raised, { peerId: adaId, audio: true, video: false, screen: false, hand: true, handAt: raised.handAt });

  // Rename
  assert.deepEqual(await bea.request("rename", { name: "Beatrice" }), { ok: true });
  assert.deepEqual(await ada.next("peer-renamed"), { peerId: beaId, name: "Beatrice" });

  // rooms from inside a room (no pushes there)
  assert.deepEqual(await ada.request("rooms", {}), { ok: true, rooms: [{ room: ROOM, count: 2, locked: false }] });

  // Errors
  await ada.refused("chat", { text: "" }, "bad-request");
  await ada.refused("chat", "not an object", "bad-request");
  await ada.refused("offer", { to: "no-such-peer", sdp: offerSdp }, "unknown-peer");
  await ada.refused("join", { room: "-bad", name: "Ada" }, "bad-request");

  // Room authority: Bea created the room, so Bea hosts; Ada may not lock it, Bea may.
  await ada.refused("lock", { locked: true }, "not-allowed");
  assert.deepEqual(await bea.request("lock", { locked: true }), { ok: true });
  const locked = { host: beaId, locked: true, waitingRoom: false, recording: null };
  assert.deepEqual([await ada.next("room-state"), await bea.next("room-state")], [locked, locked]);
  assert.deepEqual(await bea.request("lock", { locked: false }), { ok: true });
  for (const client of [ada, bea]) assert.equal((await client.next("room-state")).locked, false);

  // Leave: Ada is told, Bea is back in the lobby and gets the room list.
  assert.deepEqual(await bea.request("leave", {}), { ok: true });
  assert.deepEqual(await ada.next("peer-left"), { peerId: beaId, reason: "left" });
  assert.equal((await ada.next("room-state")).host, adaId, "the host left: Ada, there longest, hosts now");
  assert.deepEqual(await bea.next("rooms"), { rooms: [{ room: ROOM, count: 1, locked: false }] });
  await bea.refused("chat", { text: "hello?" }, "not-in-room");

  // Ada disconnects without leave: the room empties and disappears.
  ada.socket.disconnect();
  assert.deepEqual(await bea.next("rooms"), { rooms: [] });

  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const client of [ada, bea]) {
    assert.deepEqual(client.unexpected(), [], `${client.label} received events the protocol does not explain`);
  }
  bea.socket.disconnect();
  console.log("protocol conformance: ok");
}

const deadline = setTimeout(() => {
  console.error("protocol conformance: gave up after 60 s");
  process.exit(1);
}, 60_000);

main().then(
  () => {
    clearTimeout(deadline);
    process.exit(0);
  },
  (err) => {
    console.error(`protocol conformance: FAILED: ${err.stack ?? err}`);
    process.exit(1);
  },
);
