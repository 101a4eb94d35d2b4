// Room authority's rules as the page shows them (DOM-free, tested with Node): what a refusal means in words,
// who is host, which recording runs, who started it and who may stop it. The server decides; these only word it.
import { serverText, t } from "./i18n.js";

/** What a refused host or recording request means, in words. ``busy`` has several causes (no recorder on
 * this server, all recorders in use): the server's own sentence says which. */
const REFUSED = {
  "not-allowed": "refused.not_allowed",
  "already-recording": "refused.already_recording",
  "not-recording": "refused.not_recording",
  "unknown-peer": "refused.unknown_peer",
  timeout: "common.timeout",
};

/** A room state before the server sent one (servers before room authority never do). */
export const NO_STATE = { host: null, locked: false, waitingRoom: false, recording: null };

/** The sentence for a refused request's ack: ours for the codes we know, else the server's, as a sentence. */
export function refusal(ack) {
  const known = REFUSED[ack.error?.code];
  if (known) return t(known);
  const message = serverText(ack.error, "refused.unknown");
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
  return starter ? t("rec.only_host_or", { name: starter }) : t("rec.only_host");
}

/** Who started ``recording``, for the REC badge: "you", their name, or "" when nobody says. */
export function startedBy(recording, selfId, nameOf) {
  if (!recording) return "";
  if (recording.by && recording.by === selfId) return t("rec.by_you");
  return recording.by ? nameOf(recording.by) || recording.name : recording.name;
}
