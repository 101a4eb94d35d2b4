// The one way pages open their Socket.IO connection: with the transports this deployment accepts
// (the server writes them into <body data-socket-transports>; websocket only when workers share a port).
import { io } from "/vendor/socket.io/socket.io.esm.min.js";

export function connectSocket(options = {}) {
  const transports = (document.body.dataset.socketTransports || "websocket,polling").split(",");
  return io({ transports, ...options });
}
