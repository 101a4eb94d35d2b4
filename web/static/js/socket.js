// The one way pages open their Socket.IO connection: with the transports this deployment accepts
// (the server writes them into <body data-socket-transports>; websocket only when workers share a port).
// This is the DOM side of client.js, which takes socket.io-client's ``io`` as a parameter so Node can test it.
import { io } from "/vendor/socket.io/socket.io.esm.min.js";
import { Client, connect } from "./client.js";

/** A Client (client.js) on a new connection of this page. */
export function connectClient(options = {}) {
  const transports = (document.body.dataset.socketTransports || "websocket,polling").split(",");
  return new Client(connect(io, { transports, ...options }));
}
