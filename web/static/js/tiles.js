// Video tiles and the stage layout: an even grid for 1-8 people, a spotlight when someone shares a screen.
import { el, hueClass, icon, initials, setIcon } from "./ui.js";

const GAP = 10;
const ASPECT = 16 / 9;

/** One participant's tile: video, camera-off avatar, name, mic state, hand and connection quality. */
export class Tile {
  constructor({ peerId, name, self = false }) {
    this.peerId = peerId;
    this.self = self;
    this.video = el("video", { autoplay: true, playsinline: true });
    this.video.muted = self; // never play our own microphone back
    this.avatar = el("div", { class: "avatar", "aria-hidden": "true" });
    this.nameText = el("span", { class: "name" });
    this.mutedIcon = icon("mic-off", "muted-icon");
    this.mutedIcon.setAttribute("role", "img");
    this.mutedIcon.setAttribute("aria-hidden", "false");
    this.mutedIcon.setAttribute("aria-label", "Microphone muted");
    this.hand = el("span", { class: "hand-badge", role: "img", "aria-label": "Hand raised", title: "Hand raised" }, icon("hand"));
    this.quality = el("span", { class: "quality good", role: "img", "aria-label": "Connection quality", title: "Connecting…" }, icon("signal-high"));
    this.screenBadge = el("span", { class: "screen-badge" }, icon("monitor-up", "small"), "Presenting");
    this.node = el(
      "div",
      { class: "tile", dataset: { peerId } },
      this.video,
      this.avatar,
      el("div", { class: "tile-top" }, this.hand, this.screenBadge, self ? null : this.quality),
      el("div", { class: "tile-name" }, this.mutedIcon, this.nameText),
    );
    if (self) this.node.classList.add("self");
    this.setName(name);
    this.setState({ audio: true, video: true, screen: false, hand: false });
  }

  setName(name) {
    this.name = name;
    this.nameText.textContent = this.self ? `${name} (you)` : name;
    this.avatar.textContent = initials(name);
    this.avatar.className = `avatar ${hueClass(name)}`;
  }

  /** Reflect a peer's media state: {audio, video, screen, hand}. */
  setState({ audio, video, screen, hand }) {
    this.state = { audio, video, screen, hand };
    this.node.classList.toggle("muted", !audio);
    this.mutedIcon.hidden = !!audio;
    this.node.classList.toggle("cam-off", !video && !screen);
    this.node.classList.toggle("screen", !!screen);
    this.hand.hidden = !hand;
    this.screenBadge.hidden = !screen;
    this.node.classList.toggle("hand-up", !!hand);
  }

  setStream(stream) {
    if (this.video.srcObject !== stream) this.video.srcObject = stream;
    this.video.play().catch(() => {}); // autoplay may need the Join click, which we had
  }

  setSpeaking(speaking) {
    this.node.classList.toggle("speaking", speaking);
  }

  setQuality(level, detail) {
    this.quality.className = `quality ${level}`;
    setIcon(this.quality, { good: "signal-high", fair: "signal-medium", poor: "signal-low" }[level]);
    this.quality.title = detail;
    this.quality.setAttribute("aria-label", detail);
  }

  async setSink(deviceId) {
    if (!this.self && deviceId && this.video.setSinkId) await this.video.setSinkId(deviceId).catch(() => {});
  }
}

/** Columns for n equal 16:9 tiles in a w×h box, picked to make the tiles as large as possible. */
export function bestGrid(n, width, height) {
  let best = { cols: 1, tileW: width, tileH: height, area: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    let tileW = (width - GAP * (cols - 1)) / cols;
    let tileH = tileW / ASPECT;
    if (tileH * rows + GAP * (rows - 1) > height) {
      tileH = (height - GAP * (rows - 1)) / rows;
      tileW = tileH * ASPECT;
    }
    const area = tileW * tileH;
    if (area > best.area) best = { cols, tileW, tileH, area };
  }
  return best;
}

/** Lay the tiles out on the stage. CSSOM custom properties are allowed by our CSP (no inline style attributes). */
export function layout(stage, tiles) {
  const width = stage.clientWidth - 2 * GAP;
  const height = stage.clientHeight - 2 * GAP;
  if (width <= 0 || height <= 0) return;
  const featured = tiles.find((t) => t.state.screen);
  stage.classList.toggle("spotlight", !!featured);
  for (const tile of tiles) tile.node.classList.toggle("featured", tile === featured);
  if (featured) {
    const others = tiles.length - 1;
    const narrow = width < 700;
    stage.classList.toggle("narrow", narrow);
    const stripW = others ? (narrow ? width : Math.min(260, width * 0.24)) : 0;
    const stripTileH = others ? (narrow ? Math.min(110, height * 0.22) : Math.min(stripW / ASPECT, (height - GAP * (others - 1)) / others)) : 0;
    const stripTileW = narrow ? Math.min(stripTileH * ASPECT, (width - GAP * (others - 1)) / Math.max(1, others)) : stripW;
    stage.style.setProperty("--feature-w", `${narrow ? width : width - stripW - (others ? GAP : 0)}px`);
    stage.style.setProperty("--feature-h", `${narrow ? height - stripTileH - (others ? GAP : 0) : height}px`);
    stage.style.setProperty("--tile-w", `${Math.floor(stripTileW)}px`);
    stage.style.setProperty("--tile-h", `${Math.floor(narrow ? stripTileH : stripTileW / ASPECT)}px`);
    return;
  }
  stage.classList.remove("narrow");
  const { tileW, tileH } = bestGrid(Math.max(1, tiles.length), width, height);
  stage.style.setProperty("--tile-w", `${Math.floor(tileW)}px`);
  stage.style.setProperty("--tile-h", `${Math.floor(tileH)}px`);
}
