// The browser's signaling core, shared by the lobby, pre-join, call and echo pages: the Socket.IO
// connection, join and re-join after a reconnect, requests with an acknowledgement and a timeout, the peer
// table, and event subscription. DOM-free: Node tests run it against a fake socket (tests/js/).
import { PeerTable } from "./peers.js";

/** How long a request waits for the server's acknowledgement before it counts as unanswered. */
export const ACK_TIMEOUT_MS = 10_000;

// Reconnect attempts back off from 0.5 s to at most 2 s (±50 % jitter, so a restarted server is not
// hit by everyone at once): a call resumes within seconds of the network or the server coming back,
// where socket.io-client's default (up to 5 s, i.e. 7.5 s with jitter) could by itself use most of that.
export const RECONNECT = { reconnectionDelay: 500, reconnectionDelayMax: 2000, randomizationFactor: 0.5 };

/** Open a Socket.IO connection with ``io`` (socket.io-client's factory) and our reconnect pacing. */
export function connect(io, { transports = ["websocket", "polling"], ...options } = {}) {
  return io({ transports, ...RECONNECT, ...options });
}

/** The answer a request gets when the server does not acknowledge it in time. */
export function timeoutAck() {
  return { ok: false, error: { code: "timeout", message: "The server did not answer." } };
}

// Server events the client folds into the peer table before handing them on (with the table's record).
const TABLE_EVENTS = new Set(["peer-joined", "peer-left", "peer-renamed", "media"]);
// Events of the client itself, not of the socket:
//   lost (reason): the connection dropped while in a room; Socket.IO is reconnecting
//   rejoining (): reconnected; the server has dropped our old peer, the peer table is empty, join is sent again
//   rejoined (ack): the answer to that join (ok, or why not: then we are out of the room)
//   closed (reason): the server closed the connection on purpose; Socket.IO does not reconnect after that
const OWN_EVENTS = new Set(["lost", "rejoining", "rejoined", "closed"]);

export class Client {
  /**
   * @param {object} socket a socket.io-client Socket (or anything with on/off/emit(event, payload, ack))
   * @param {object} [options]
   * @param {number} [options.ackTimeoutMs]
   * @param {Console} [options.log]
   */
  constructor(socket, { ackTimeoutMs = ACK_TIMEOUT_MS, log = console } = {}) {
    this.socket = socket;
    this.ackTimeoutMs = ackTimeoutMs;
    this.log = log;
    this.peers = new PeerTable();
    this.selfId = null;
    this.joined = null; // the join payload to send again after a reconnect, while we are in a room
    this.lost = false;
    this.listeners = new Map(); // event -> Set of handlers
    socket.on("peer-joined", (peer) => {
      const entry = this.peers.add(peer);
      if (entry) this.dispatch("peer-joined", entry);
    });
    socket.on("peer-left", ({ peerId, reason } = {}) => {
      const entry = this.peers.remove(peerId);
      if (entry) this.dispatch("peer-left", { peer: entry, reason });
    });
    socket.on("peer-renamed", ({ peerId, name } = {}) => {
      const entry = this.peers.rename(peerId, name);
      if (entry) this.dispatch("peer-renamed", entry);
    });
    socket.on("media", (state) => this.applyMedia(state));
    socket.on("disconnect", (reason) => this.disconnected(reason));
    socket.on("connect", () => {
      if (this.joined && this.lost) this.rejoin();
    });
  }

  // ---- events -------------------------------------------------------------------------------------

  /** Call ``handler`` on ``event`` (a server event, or one of the client's own); returns the unsubscribe. */
  on(event, handler) {
    let handlers = this.listeners.get(event);
    if (!handlers) {
      handlers = new Set();
      this.listeners.set(event, handlers);
      if (!TABLE_EVENTS.has(event) && !OWN_EVENTS.has(event)) this.socket.on(event, (...args) => this.dispatch(event, ...args));
    }
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  /** ``on`` for every entry of ``{event: handler}``; returns one function that unsubscribes them all. */
  subscribe(handlers) {
    const offs = Object.entries(handlers).map(([event, handler]) => this.on(event, handler));
    return () => offs.forEach((off) => off());
  }

  dispatch(event, ...args) {
    for (const handler of [...(this.listeners.get(event) || [])]) {
      try {
        handler(...args);
      } catch (error) {
        this.log.error(`noom: handling ${event} failed`, error);
      }
    }
  }

  // ---- requests -----------------------------------------------------------------------------------

  /**
   * Send ``event`` and resolve to the server's acknowledgement, or to ``timeoutAck()`` when none comes in
   * time: never rejects. ``onAck`` runs synchronously with the acknowledgement, before any later server
   * event is handled (the join ack resets the peer table that way).
   */
  request(event, payload = {}, onAck = null) {
    return new Promise((resolve) => {
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        this.log.warn(`noom: ${event} got no answer`);
        resolve(timeoutAck());
      }, this.ackTimeoutMs);
      this.socket.emit(event, payload, (ack) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const answer = ack && typeof ack === "object" ? ack : { ok: false, error: { code: "bad-ack", message: "The server gave no answer." } };
        if (!answer.ok) this.log.warn(`noom: ${event} refused`, answer.error);
        onAck?.(answer);
        resolve(answer);
      });
    });
  }

  // ---- the room -----------------------------------------------------------------------------------

  /**
   * Join a room. On ok the peer table holds the ack's peers, and (unless ``rejoin`` is false) the client
   * joins again by itself with the same payload, less any waiting-room ticket, after a reconnect.
   */
  join(payload, { rejoin = true } = {}) {
    return this.request("join", payload, (ack) => {
      if (!ack.ok) return;
      const { ticket: _used, ...again } = payload;
      this.entered(ack, rejoin ? again : null);
    });
  }

  /** Leave the room (or the waiting queue): no re-join from here on. */
  leave() {
    this.forget();
    return this.request("leave", {});
  }

  /** Leave the room and close the connection for good (the page is done with it): no answer awaited. */
  close() {
    this.forget();
    this.socket.emit("leave", {});
    this.socket.close();
  }

  /** Out of the room as far as this client is concerned (the call ended): no re-join, no peers. */
  forget() {
    this.joined = null;
    this.lost = false;
    this.selfId = null;
    this.peers.clear();
  }

  entered(ack, again) {
    this.selfId = ack.peerId;
    this.peers.reset(ack.peers || []);
    this.joined = again;
    this.lost = false;
  }

  disconnected(reason) {
    if (!this.joined) return;
    if (reason === "io server disconnect") {
      this.forget();
      this.dispatch("closed", reason);
      return;
    }
    this.lost = true;
    this.dispatch("lost", reason);
  }

  /** After a reconnect the server has dropped our old peer: join again with the same payload. */
  async rejoin() {
    const payload = this.joined;
    this.lost = false;
    this.peers.clear();
    this.dispatch("rejoining");
    const ack = await this.request("join", payload, (answer) => (answer.ok ? this.entered(answer, payload) : this.forget()));
    this.dispatch("rejoined", ack);
    return ack;
  }

  /** A media state change of a peer: from the server's ``media``, or our own host action it accepted. */
  applyMedia(state) {
    const change = this.peers.media(state);
    if (change) this.dispatch("media", change);
  }
}
