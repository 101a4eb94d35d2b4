// A stand-in for a socket.io-client Socket: records what the client emits (with the ack callbacks, so a
// test answers for the server), and lets a test push server events and connection changes.
export class FakeSocket {
  constructor() {
    this.handlers = new Map(); // event -> [handler]
    this.sent = []; // {event, payload, ack}
    this.connected = true;
  }

  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(handler);
    return this;
  }

  off(event, handler) {
    this.handlers.set(event, (this.handlers.get(event) || []).filter((h) => h !== handler));
    return this;
  }

  emit(event, payload, ack) {
    this.sent.push({ event, payload, ack });
    return this;
  }

  /** The server sends ``event``. */
  push(event, ...args) {
    for (const handler of [...(this.handlers.get(event) || [])]) handler(...args);
  }

  /** The last message the client sent as ``event``. */
  last(event) {
    const found = this.sent.filter((m) => m.event === event);
    if (!found.length) throw new Error(`nothing sent as ${event}; sent: ${this.sent.map((m) => m.event).join(", ")}`);
    return found[found.length - 1];
  }

  drop(reason = "transport close") {
    this.connected = false;
    this.push("disconnect", reason);
  }

  reconnect() {
    this.connected = true;
    this.push("connect");
  }
}

/** A console that keeps what it is told, so tests stay quiet and can check warnings. */
export function quietLog() {
  const lines = [];
  const keep = (level) => (...args) => lines.push([level, args.map(String).join(" ")]);
  return { lines, warn: keep("warn"), error: keep("error"), info: keep("info"), log: keep("log") };
}
