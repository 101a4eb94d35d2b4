// Keeping TURN credentials fresh (DOM-free, tested with Node with mocked timers): when the join ack's TURN
// credentials near their expiry, ask the server for new ones (``ice-servers``) and hand them to the call.

// TURN REST credentials (docs/protocol.md) have the username "EXPIRY:peerId", EXPIRY in Unix seconds.
const TURN_USERNAME = /^(\d{9,}):/;
const REFRESH_AT = 0.8; // of the remaining lifetime
const REFRESH_MIN_MS = 5_000;
const REFRESH_RETRY_MS = 15_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The earliest expiry (Unix seconds) of the TURN credentials in ``iceServers``, or null when there are none. */
export function turnExpiry(iceServers) {
  let earliest = null;
  for (const server of iceServers || []) {
    const match = TURN_USERNAME.exec(server.username || "");
    if (!match || !server.credential) continue;
    const expiry = Number(match[1]);
    if (earliest === null || expiry < earliest) earliest = expiry;
  }
  return earliest;
}

/**
 * Keeps TURN credentials fresh: at 80 % of their remaining lifetime ask the server for new ones
 * (``fetch`` resolves to the ``ice-servers`` ack) and hand them to ``apply``. Does nothing without them.
 */
export class IceRefresher {
  constructor({ fetch, apply, now = () => Date.now() }) {
    this.fetch = fetch;
    this.apply = apply;
    this.now = now;
    this.timer = null;
    this.stopped = false;
  }

  schedule(iceServers) {
    clearTimeout(this.timer);
    this.stopped = false;
    const expiry = turnExpiry(iceServers);
    if (expiry === null) return;
    const left = expiry * 1000 - this.now();
    // A clock far ahead of the server's would make every credential look expired: retry at a slow pace then.
    const delay = left > 0 ? Math.max(left * REFRESH_AT, REFRESH_MIN_MS) : REFRESH_RETRY_MS * 4;
    this.wait(delay);
  }

  wait(delay) {
    this.timer = setTimeout(() => this.refresh(), Math.min(delay, MAX_TIMER_MS));
  }

  async refresh() {
    this.timer = null;
    const ack = await this.fetch();
    if (this.stopped) return;
    if (ack?.ok && Array.isArray(ack.iceServers)) {
      this.apply(ack.iceServers);
      this.schedule(ack.iceServers);
    } else if (ack?.error?.code !== "not-in-room") {
      this.wait(REFRESH_RETRY_MS); // the server was busy or unreachable: the old credentials may still hold
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
  }
}
