// The call's periodic indicators: the active-speaker ring and "you are muted" (every 200 ms, from the level
// meter and the receivers' audio levels) and each tile's connection quality (every 2 s, from getStats).
// The decisions are quality.js's; this reads the numbers and draws.
import { quality, Speaking } from "./quality.js";
import { show } from "./ui.js";

const LEVEL_POLL_MS = 200;
const STATS_POLL_MS = 2000;

export class Monitor {
  /** @param {import("./call.js").Call} call */
  constructor(call) {
    this.call = call;
    this.speaking = new Speaking();
    this.timers = [setInterval(() => this.pollLevels(), LEVEL_POLL_MS), setInterval(() => this.pollStats(), STATS_POLL_MS)];
  }

  pollLevels() {
    const now = performance.now();
    const { local, selfTile } = this.call;
    const self = this.speaking.self(local.meter ? local.meter.level() : 0, local.audioOn, !!local.meter, now);
    selfTile.setSpeaking(self.speaking);
    show(document.getElementById("muted-hint"), self.mutedHint);
    const speaking = new Set();
    for (const [peerId, { link, tile, peer }] of this.call.peers) {
      const talking = this.speaking.remote(peerId, link.audioLevel(), peer.audio, now);
      tile.setSpeaking(talking);
      if (talking) speaking.add(peerId);
    }
    this.call.speaking(speaking, now);
  }

  async pollStats() {
    for (const { link, tile, peer } of this.call.peers.values()) {
      try {
        const { level, detail } = quality(await link.stats(), peer.video || peer.screen);
        tile.setQuality(level, detail);
      } catch {
        /* the connection closed meanwhile */
      }
    }
  }

  stop() {
    for (const timer of this.timers) clearInterval(timer);
  }
}
