// Room authority's rules as the page shows them (DOM-free, tested with Node): what a refusal means in words,
// who is host, which recording runs, who started it and who may stop it. The server decides; these only word it.

/** What a refused host or recording request means, in words. ``busy`` has several causes (no recorder on
 * this server, all recorders in use): the server's own sentence says which. */
const REFUSED = {
  "not-allowed": "Only the host can do that.",
  "already-recording": "This call is already being recorded.",
  "not-recording": "This call is not being recorded any more.",
  "unknown-peer": "That person has already left.",
  timeout: "The server did not answer. Check your connection and try again.",
};

/** A room state before the server sent one (servers before room authority never do). */
export const NO_STATE = { host: null, locked: false, waitingRoom: false, recording: null };

/** The sentence for a refused request's ack: ours for the codes we know, else the server's, as a sentence. */
export function refusal(ack) {
  const known = REFUSED[ack.error?.code];
  if (known) return known;
  const message = ack.error?.message || "that did not work: try again";
  return message[0].toUpperCase() + message.slice(1) + (/[.!?]$/.test(message) ? "" : ".");
}

/** The running recording: the room state's, or (from an older server) a recorder bot among ``peers``. */
export function currentRecording(state, peers) {
  if (state.recording) return state.recording;
  return [...peers].some((peer) => peer.role === "recorder") ? { by: null, name: "", since: 0 } : null;
}

/**
 * Why we may not stop ``recording``, or "" when we may (or nothing records): the host and whoever started
 * it may; without a room state (``known`` false) the server is older and lets anyone.
 */
export function stopRefusal({ recording, known, state, selfId, nameOf }) {
  const isHost = !!selfId && state.host === selfId;
  if (!recording || !known || isHost || (recording.by && recording.by === selfId)) return "";
  const starter = recording.by && recording.by !== state.host ? nameOf(recording.by) || recording.name : "";
  return starter ? `Only the host or ${starter} can stop the recording` : "Only the host can stop the recording";
}

/** Who started ``recording``, for the REC badge: "you", their name, or "" when nobody says. */
export function startedBy(recording, selfId, nameOf) {
  if (!recording) return "";
  if (recording.by && recording.by === selfId) return "you";
  return recording.by ? nameOf(recording.by) || recording.name : recording.name;
}
