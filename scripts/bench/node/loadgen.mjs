// Signaling load generator (socket.io-client 4, what browsers run): N clients in rooms of two relay `ice`
// messages to their partner with W in flight each (windowed on acks). Prints marker lines for the
// orchestrator (CONNECTED, MEASURE_START, MEASURE_END) and a final JSON result line.
import { io } from "socket.io-client";

const [url, nArg, wArg, secondsArg, warmupArg] = process.argv.slice(2);
const N = Number(nArg), W = Number(wArg), SECONDS = Number(secondsArg || 5), WARMUP = Number(warmupArg || 1);
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms));

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const clients = [];
async function connectOne(i) {
  const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 20000 });
  await new Promise((resolve, reject) => { socket.once("connect", resolve); socket.once("connect_error", reject); });
  const c = { i, socket, peerId: null, partner: null, sent: 0, acked: 0, received: new Map(), dup: 0, misrouted: 0 };
  clients.push(c);
  return c;
}

// Connect in bounded batches so the server sees a realistic ramp, not a SYN flood.
for (let i = 0; i < N; i += 50) {
  await Promise.race([Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, k) => connectOne(i + k))), deadline(60000, "connect")]);
}
clients.sort((a, b) => a.i - b.i);
console.log("CONNECTED");
await sleep(500);

// Join in pairs; measure each join's latency (emit -> ack).
const joinLatencies = [];
let measuring = false, stopping = false, relayed = 0;
const latencies = [];
for (let p = 0; p < N / 2; p++) {
  const a = clients[2 * p], b = clients[2 * p + 1];
  a.partnerIndex = b.i; b.partnerIndex = a.i;
}
for (const c of clients) {
  c.socket.on("peer-joined", (peer) => { c.partner = peer.peerId; });
  c.socket.on("ice", (msg) => {
    const [fromIndex, seq, sentAt] = msg.candidate.usernameFragment.split(":").map(Number);
    if (fromIndex !== c.partnerIndex || msg.from !== c.partner) { c.misrouted++; return; }
    const seen = c.received.get(seq);
    if (seen) { c.dup++; return; }
    c.received.set(seq, true);
    if (measuring) { relayed++; latencies.push(now() - sentAt); }
  });
}
async function join(c, room) {
  const t0 = now();
  const ack = await c.socket.timeout(20000).emitWithAck("join", { room, name: "bench" + c.i });
  if (!ack.ok) throw new Error("join refused: " + JSON.stringify(ack));
  joinLatencies.push(now() - t0);
  c.peerId = ack.peerId;
  if (ack.peers.length) c.partner = ack.peers[0].peerId;
}
const run = "b" + Math.random().toString(36).slice(2, 8);
for (let p = 0; p < N / 2; p += 25) {
  const batch = [];
  for (let q = p; q < Math.min(N / 2, p + 25); q++) {
    batch.push(join(clients[2 * q], `${run}-${q}`).then(() => join(clients[2 * q + 1], `${run}-${q}`)));
  }
  await Promise.race([Promise.all(batch), deadline(60000, "join")]);
}
const waitStart = now();
while (clients.some((c) => !c.partner) && now() - waitStart < 10000) await sleep(20);
if (clients.some((c) => !c.partner)) throw new Error("some clients never learned their partner");

// Each client keeps W ice messages in flight: a new one goes out when the server acks one.
function sendOne(c) {
  if (stopping) return;
  const seq = c.sent++;
  const candidate = { candidate: "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: `${c.i}:${seq}:${now()}` };
  c.socket.emit("ice", { to: c.partner, candidate }, (ack) => {
    if (!ack || !ack.ok) { c.refused = (c.refused || 0) + 1; }
    c.acked++;
    sendOne(c);
  });
}
for (const c of clients) for (let k = 0; k < W; k++) sendOne(c);
await sleep(WARMUP * 1000);
measuring = true;
const t0 = now();
console.log("MEASURE_START");
await sleep(SECONDS * 1000);
measuring = false;
const elapsed = (now() - t0) / 1000;
console.log("MEASURE_END");
stopping = true;
// Drain: everything sent must arrive; bounded wait.
const drainStart = now();
const totalSent = () => clients.reduce((s, c) => s + c.sent, 0);
const totalReceived = () => clients.reduce((s, c) => s + c.received.size, 0);
while (totalReceived() < totalSent() && now() - drainStart < 10000) await sleep(50);
latencies.sort((x, y) => x - y);
joinLatencies.sort((x, y) => x - y);
const result = {
  clients: N, window: W, seconds: elapsed,
  relayed, rate: relayed / elapsed,
  p50: percentile(latencies, 50), p99: percentile(latencies, 99),
  join_p50: percentile(joinLatencies, 50), join_p99: percentile(joinLatencies, 99),
  sent: totalSent(), received: totalReceived(), lost: totalSent() - totalReceived(),
  duplicated: clients.reduce((s, c) => s + c.dup, 0), misrouted: clients.reduce((s, c) => s + c.misrouted, 0),
  refused: clients.reduce((s, c) => s + (c.refused || 0), 0),
};
console.log("RESULT " + JSON.stringify(result));
for (const c of clients) c.socket.disconnect();
process.exit(0);
