// The lobby's and pre-join page's words (DOM-free, tested with Node): why a join was refused, who is in the
// room, a readable random room name and the path to a room.

const ERRORS = {
  "room-full": "This room is full. Ask someone to leave, try again in a moment, or start another room from the lobby.",
  "wrong-password": "That password is not right. Check it with whoever invited you and try again.",
  "rate-limited": "Too many attempts in a short time. Wait a few seconds and try again.",
  timeout: "The server did not answer. Check your connection and try again.",
  "room-locked": "The host has locked this room: nobody new can join. Ask the host to unlock it, then try again.",
  // The server says why (removed a moment ago, say, and for how long).
  "not-allowed": (message) => `You cannot join this call now: ${message || "ask the host"}.`.replace(/\.\.$/, "."),
};

/** A refused join's error ({code, message}) in words: ours for the codes we know, else the server's. */
export function joinErrorText({ code, message }) {
  const known = ERRORS[code];
  return typeof known === "function" ? known(message) : known || message;
}

/** What the pre-join page says about the room from its entry in the ``rooms`` list (undefined: not there). */
export function roomStatusText(info) {
  if (!info) return "no one here yet: you will start the call";
  return `${info.count} ${info.count === 1 ? "person" : "people"} in the call${info.locked ? " · password protected" : ""}`;
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
