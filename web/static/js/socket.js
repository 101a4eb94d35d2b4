// The one way pages open their Socket.IO connection: with the transports this deployment accepts
// (the server writes them into <body data-socket-transports>; websocket only when workers share a port).
import { io } from "/vendor/socket.io/socket.io.esm.min.js";

// Reconnect attempts back off from 0.5 s to at most 2 s (±50 % jitter, so a restarted server is not
// hit by everyone at once): a call resumes within seconds of the network or the server coming back,
// where socket.io-client's default (up to 5 s, i.e. 7.5 s with jitter) could by itself use most of that.
const RECONNECT = { reconnectionDelay: 500, reconnectionDelayMax: 2000, randomizationFactor: 0.5 };

export function connectSocket(options = {}) {
  const transports = (document.body.dataset.socketTransports || "websocket,polling").split(",");
  return io({ transports, ...RECONNECT, ...options });
}
