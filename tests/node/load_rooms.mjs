// Load check for tests/test_load.py: N socket.io-client sockets in rooms of P relay M `ice` messages in
// total, each to a room-mate, with W in flight per socket (windowed on acks). Every message carries
// "sender:seq:target" so receivers count lost, duplicated and misrouted messages exactly.
// Usage: node tests/node/load_rooms.mjs URL N P M W   -> prints one line "RESULT {...}"
import { createRequire } from "node:module";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { io } = require("socket.io-client");

const [url, nArg, pArg, mArg, wArg] = process.argv.slice(2);
const N = Number(nArg), P = Number(pArg), M = Number(mArg), W = Number(wArg);
const PER_SOCKET = Math.ceil(M / N);
const started = performance.now();
const elapsed = () => ((performance.now() - started) / 1000).toFixed(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms))]);

const sockets = [];
const roomOf = (i) => Math.floor(i / P);
const matesOf = (i) => Array.from({ length: P }, (_, k) => roomOf(i) * P + k).filter((j) => j !== i);

function connect(i) {
  const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 30000 });
  const s = { i, socket, peerId: null, sent: 0, acked: 0, refused: 0, seen: new Set(), dup: 0, misrouted: 0 };
  sockets[i] = s;
  socket.on("ice", (msg) => {
    const [from, seq, target] = String(msg.candidate?.usernameFragment).split(":").map(Number);
    if (target !== i || roomOf(from) !== roomOf(i) || msg.from !== sockets[from]?.peerId) { s.misrouted++; return; }
    const key = `${from}:${seq}`;
    if (s.seen.has(key)) { s.dup++; return; }
    s.seen.add(key);
  });
  socket.on("disconnect", (reason) => { if (!s.done) console.error(`[${elapsed()} s] socket ${i} disconnected: ${reason} after ${s.acked} acks`); });
  return new Promise((resolve, reject) => { socket.once("connect", resolve); socket.once("connect_error", reject); });
}

for (let i = 0; i < N; i += 50) {
  await within(Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, k) => connect(i + k))), 60000, "connect");
}
console.error(`[${elapsed()} s] ${N} sockets connected`);

async function join(s) {
  const ack = await s.socket.timeout(30000).emitWithAck("join", { room: `load-${roomOf(s.i)}`, name: `load${s.i}` });
  if (!ack.ok) throw new Error("join refused: " + JSON.stringify(ack));
  s.peerId = ack.peerId;
}
for (let i = 0; i < N; i += 50) await within(Promise.all(sockets.slice(i, i + 50).map(join)), 60000, "join");
console.error(`[${elapsed()} s] ${N} sockets joined ${N / P} rooms`);

// Each socket sends PER_SOCKET messages round-robin to its room-mates, W at a time.
let finished = 0;
const allSent = new Promise((resolve) => {
  function sendNext(s) {
    if (s.sent >= PER_SOCKET) return;
    const seq = s.sent++;
    const mates = matesOf(s.i);
    const target = mates[seq % mates.length];
    const candidate = { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host", sdpMid: "0",
      sdpMLineIndex: 0, usernameFragment: `${s.i}:${seq}:${target}` };
    s.socket.emit("ice", { to: sockets[target].peerId, candidate }, (ack) => {
      if (!ack || !ack.ok) s.refused++;
      if (++s.acked === PER_SOCKET && ++finished === N) resolve();
      sendNext(s);
    });
  }
  for (const s of sockets) for (let k = 0; k < W; k++) sendNext(s);
});
const relayStart = performance.now();
await within(allSent, 240000, "acks");
const relaySeconds = (performance.now() - relayStart) / 1000;
const sent = sockets.reduce((n, s) => n + s.sent, 0);
const received = () => sockets.reduce((n, s) => n + s.seen.size, 0);
const drainStart = performance.now();
while (received() < sent && performance.now() - drainStart < 20000) await sleep(50);
console.error(`[${elapsed()} s] ${sent} messages relayed in ${relaySeconds.toFixed(1)} s`);
const result = {
  sockets: N, rooms: N / P, sent, received: received(), lost: sent - received(),
  duplicated: sockets.reduce((n, s) => n + s.dup, 0), misrouted: sockets.reduce((n, s) => n + s.misrouted, 0),
  refused: sockets.reduce((n, s) => n + s.refused, 0), relay_seconds: relaySeconds,
};
for (const s of sockets) { s.done = true; s.socket.disconnect(); }
console.log("RESULT " + JSON.stringify(result));
process.exit(0);
