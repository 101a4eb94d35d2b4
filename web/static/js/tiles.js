// Video tiles and the stage layout: an even grid, or a spotlight on one tile (pinned, presenting, or the active
// speaker in the speaker view; layout.js decides which).
import { stageLayout } from "./layout.js";
import { lang, t } from "./i18n.js";
import { hueClass, initials } from "./text.js";
import { el, icon, setIcon } from "./ui.js";

const REACTION_MS = 4000;

/** One participant's tile: video, camera-off avatar, name, mic state, hand (and its place in the queue),
 * connection quality, a pin button, and reactions floating over it. */
export class Tile {
  constructor({ peerId, name, self = false, onPin = () => {} }) {
    this.peerId = peerId;
    this.self = self;
    this.video = el("video", { autoplay: true, playsinline: true });
    this.video.muted = self; // never play our own microphone back
    this.avatar = el("div", { class: "avatar", "aria-hidden": "true" });
    this.nameText = el("span", { class: "name" });
    this.mutedIcon = icon("mic-off", "muted-icon");
    this.mutedIcon.setAttribute("role", "img");
    this.mutedIcon.setAttribute("aria-hidden", "false");
    this.mutedIcon.setAttribute("aria-label", t("tile.mic_muted"));
    this.handPlace = el("span", { class: "hand-place" });
    this.hand = el("span", { class: "hand-badge", role: "img", "aria-label": t("tile.hand_raised"), title: t("tile.hand_raised") }, icon("hand"), this.handPlace);
    this.pin = el("button", { type: "button", class: "tile-pin", "aria-pressed": "false" }, icon("pin", "small"));
    this.pin.addEventListener("click", () => onPin(this));
    this.reactions = el("div", { class: "reactions", "aria-live": "polite" });
    this.quality = el("span", { class: "quality good", role: "img", "aria-label": t("tile.quality"), title: t("tile.connecting") }, icon("signal-high"));
    this.screenBadge = el("span", { class: "screen-badge" }, icon("monitor-up", "small"), t("tile.presenting"));
    this.node = el(
      "div",
      { class: "tile", dataset: { peerId } },
      this.video,
      this.avatar,
      el("div", { class: "tile-top" }, this.hand, this.screenBadge, self ? null : this.quality, this.pin),
      this.reactions,
      el("div", { class: "tile-name" }, this.mutedIcon, this.nameText),
    );
    if (self) this.node.classList.add("self");
    this.setName(name);
    this.setState({ audio: true, video: true, screen: false, hand: false });
  }

  setName(name) {
    this.name = name;
    this.nameText.textContent = this.self ? t("people.you", { name }) : name;
    this.avatar.textContent = initials(name);
    this.avatar.className = `avatar ${hueClass(name)}`;
    this.setPinned(this.pinned);
  }

  setPinned(pinned) {
    this.pinned = !!pinned;
    const who = this.self ? t("tile.your_tile") : this.name;
    this.pin.setAttribute("aria-pressed", String(this.pinned));
    this.pin.setAttribute("aria-label", this.pinned ? t("tile.unpin_who", { who }) : t("tile.pin_who", { who }));
    this.pin.title = this.pinned ? t("tile.unpin") : t("tile.pin");
    setIcon(this.pin, this.pinned ? "pin-off" : "pin");
    this.node.classList.toggle("pinned", this.pinned);
  }

  /** The raised hand's place in the room's queue (1, 2, 3…), or null while the hand is down. */
  setHandPlace(place) {
    this.handPlace.textContent = place ? String(place) : "";
    const label = place ? t("tile.hand_place", { place: ordinal(place) }) : t("tile.hand_raised");
    this.hand.setAttribute("aria-label", label);
    this.hand.title = label;
  }

  /** An emoji floating up over the tile for a few seconds. */
  showReaction(emoji) {
    const bubble = el("span", { class: "reaction", text: emoji, role: "img", "aria-label": this.self ? t("tile.you_reacted", { emoji }) : t("tile.reacted", { name: this.name, emoji }) });
    this.reactions.append(bubble);
    setTimeout(() => bubble.remove(), REACTION_MS);
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

// "1st", "2nd" in English; Korean says "1번째" (the catalog's tile.ordinal_* forms, by plural-rule "ordinal" category).
function ordinal(n) {
  return t(ORDINALS[new Intl.PluralRules(lang(), { type: "ordinal" }).select(n)] || "tile.ordinal_other", { n });
}
const ORDINALS = { one: "tile.ordinal_one", two: "tile.ordinal_two", few: "tile.ordinal_few", other: "tile.ordinal_other" };

/** Lay the tiles out on the stage, ``featured`` (a Tile or null) on it. CSSOM custom properties are allowed by our
 * CSP (no inline style attributes). */
export function layout(stage, tiles, featured) {
  const plan = stageLayout({ count: tiles.length, featured: !!featured, stageWidth: stage.clientWidth, stageHeight: stage.clientHeight });
  if (!plan) return;
  stage.classList.toggle("spotlight", plan.spotlight);
  for (const tile of tiles) tile.node.classList.toggle("featured", tile === featured);
  stage.classList.toggle("narrow", plan.narrow);
  for (const [name, value] of Object.entries(plan.vars)) stage.style.setProperty(name, value);
}
