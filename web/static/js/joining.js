// The lobby's and pre-join page's words (DOM-free, tested with Node): why a join was refused, who is in the
// room, a readable random room name and the path to a room.
import { serverText, t } from "./i18n.js";

const ERRORS = {
  "room-full": () => t("join.room_full"),
  "wrong-password": () => t("join.wrong_password"),
  "rate-limited": () => t("join.rate_limited"),
  timeout: () => t("common.timeout"),
  "room-locked": () => t("join.room_locked"),
  // The server says why (removed a moment ago, say, and for how long).
  "not-allowed": (message) => t("join.not_allowed", { reason: serverText({ message }, "join.ask_host") }).replace(/\.\.$/, "."),
};

/** A refused join's error ({code, message}) in words: ours for the codes we know, else the server's. */
export function joinErrorText({ code, message }) {
  const known = ERRORS[code];
  return known ? known(message) : serverText({ code, message });
}

/** What the pre-join page says about the room from its entry in the ``rooms`` list (undefined: not there). */
export function roomStatusText(info) {
  if (!info) return t("join.nobody_here");
  return t("join.in_call", { count: info.count }) + (info.locked ? t("join.password_protected_suffix") : "");
}

const ADJECTIVES = ["bright", "calm", "swift", "sunny", "brave", "quiet", "lucky", "clever", "gentle", "bold", "merry", "keen"];
const NOUNS = ["otter", "falcon", "maple", "comet", "harbor", "meadow", "panda", "river", "cedar", "lynx", "orchid", "summit"];

/**
 * A room name that is easy to read out loud, with enough randomness (about 20 bits) not to collide:
 * "adjective-noun-NNNN" from three random integers.
 */
export function randomRoom([a, b, n] = crypto.getRandomValues(new Uint32Array(3))) {
  return `${ADJECTIVES[a % ADJECTIVES.length]}-${NOUNS[b % NOUNS.length]}-${1000 + (n % 9000)}`;
}

/** The room page's path, with the name to prefill when there is one. */
export function roomPath(room, name = "") {
  return "/r/" + encodeURIComponent(room) + (name ? "?name=" + encodeURIComponent(name) : "");
}
