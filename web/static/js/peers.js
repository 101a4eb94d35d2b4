// The peer table: who else is in our room, as the server told us (join ack, then peer-joined, peer-left,
// peer-renamed and media). DOM-free: the call page draws tiles from it, Node tests drive it directly.

/** Our own copy of a Peer (docs/protocol.md: the server always sends its media flags). */
function record(peer) {
  return { ...peer };
}

export class PeerTable {
  constructor() {
    /** @type {Map<string, object>} peerId -> Peer record (the same object for the peer's whole stay) */
    this.byId = new Map();
  }

  /** Replace everything with the peers of a join ack. */
  reset(peers = []) {
    this.byId.clear();
    for (const peer of peers) this.byId.set(peer.peerId, record(peer));
  }

  clear() {
    this.byId.clear();
  }

  /** A peer came in; null when we already had it (a duplicate push changes nothing). */
  add(peer) {
    if (!peer?.peerId || this.byId.has(peer.peerId)) return null;
    const entry = record(peer);
    this.byId.set(peer.peerId, entry);
    return entry;
  }

  /** A peer went; its last record, or null when we did not know it. */
  remove(peerId) {
    const entry = this.byId.get(peerId);
    if (!entry) return null;
    this.byId.delete(peerId);
    return entry;
  }

  /** A peer renamed; its record, or null when unknown. */
  rename(peerId, name) {
    const entry = this.byId.get(peerId);
    if (!entry) return null;
    entry.name = name;
    return entry;
  }

  /**
   * A media state change ({peerId, audio?, video?, screen?, hand?}): merged into the record.
   * Returns {peer, before} (before: a copy of the record as it was), or null when the peer is unknown.
   */
  media(state) {
    const entry = this.byId.get(state?.peerId);
    if (!entry) return null;
    const before = { ...entry };
    Object.assign(entry, state);
    return { peer: entry, before };
  }

  get(peerId) {
    return this.byId.get(peerId);
  }

  has(peerId) {
    return this.byId.has(peerId);
  }

  get size() {
    return this.byId.size;
  }

  values() {
    return this.byId.values();
  }

  /** Copies of every record, for read-only views (window.noom.peers()). */
  list() {
    return [...this.byId.values()].map((peer) => ({ ...peer }));
  }
}

/**
 * The raised hands in the order they went up (``handAt``, the server's clock): Map of peer id -> 1, 2, 3…
 * ``people``: [{peerId, hand, handAt}] (ourselves included). A hand without a time (an older server) comes last.
 */
export function handQueue(people) {
  const raised = people.filter((p) => p.hand).sort((a, b) => (a.handAt ?? Infinity) - (b.handAt ?? Infinity));
  return new Map(raised.map((p, i) => [p.peerId, i + 1]));
}
