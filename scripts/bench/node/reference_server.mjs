// The reference: a plain Node.js socket.io 4 server (its defaults) implementing the protocol v1 subset the
// benchmark uses: join (rooms of any size, no validation beyond shape), ice relay to one peer, leave.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2] || 3100);
const httpServer = createServer();
const io = new Server(httpServer);
const rooms = new Map(); // room -> Map(peerId -> peer)
const roomOf = new Map(); // peerId -> room

io.on("connection", (socket) => {
  let self = null;
  socket.on("join", (req, ack) => {
    if (typeof req !== "object" || typeof req.room !== "string" || typeof req.name !== "string") {
      return ack({ ok: false, error: { code: "bad-request", message: "room and name are required" } });
    }
    const peer = { peerId: randomBytes(12).toString("base64url"), name: req.name, kind: "human", audio: true, video: true, screen: false, hand: false };
    if (!rooms.has(req.room)) rooms.set(req.room, new Map());
    const members = rooms.get(req.room);
    const others = [...members.values()];
    members.set(peer.peerId, peer);
    roomOf.set(peer.peerId, req.room);
    self = { peer, room: req.room };
    socket.join("room:" + req.room);
    socket.join("peer:" + peer.peerId);
    socket.to("room:" + req.room).emit("peer-joined", peer);
    ack({ ok: true, peerId: peer.peerId, room: req.room, peers: others, iceServers: [], chat: [] });
  });
  socket.on("ice", (req, ack) => {
    if (!self) return ack({ ok: false, error: { code: "not-in-room", message: "join a room first" } });
    if (typeof req !== "object" || roomOf.get(req.to) !== self.room) {
      return ack({ ok: false, error: { code: "unknown-peer", message: "no such peer in your room" } });
    }
    io.to("peer:" + req.to).emit("ice", { from: self.peer.peerId, candidate: req.candidate });
    ack({ ok: true });
  });
  const leave = (reason) => {
    if (!self) return;
    const members = rooms.get(self.room);
    members.delete(self.peer.peerId);
    roomOf.delete(self.peer.peerId);
    if (!members.size) rooms.delete(self.room);
    socket.to("room:" + self.room).emit("peer-left", { peerId: self.peer.peerId, reason });
    self = null;
  };
  socket.on("leave", (_req, ack) => { leave("left"); ack({ ok: true }); });
  socket.on("disconnect", () => leave("disconnected"));
});

httpServer.listen(port, "127.0.0.1", () => console.log(`reference listening on ${port}`));
