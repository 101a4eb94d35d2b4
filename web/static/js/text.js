// Pure text helpers shared by the pages (DOM-free, tested with Node): initials and colour of a name's
// avatar, and where the links are in a chat message.

/** Up to two initials of a name, for the camera-off avatar. */
export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : [parts[0] || "?"];
  return letters.map((p) => Array.from(p)[0].toUpperCase()).join("");
}

/** A stable hue per name so each avatar gets its own colour. */
export function hue(name) {
  let h = 0;
  for (const ch of String(name)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

const HUE_CLASSES = 12;
/** A colour class (hue-0..11) instead of an inline style, which the CSP forbids. */
export function hueClass(name) {
  return `hue-${Math.floor(hue(name) / (360 / HUE_CLASSES))}`;
}

// Web links and our own recording downloads become links in chat; everything else stays plain text.
// Recording links are /recordings/<name>.<expiry>.<signature> (signed by the server, see docs/media.md).
const LINK = /(https?:\/\/[^\s<>"]+|\/recordings\/[A-Za-z0-9_-]+\.[0-9]+\.[A-Za-z0-9_-]+)/g;

/**
 * Chat text cut into parts: ``{text}`` for plain text and ``{link, own}`` for a link (``own``: one of our
 * recording downloads). Joining the parts' text and links gives the message back unchanged.
 */
export function linkParts(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    if (match.index > last) parts.push({ text: text.slice(last, match.index) });
    parts.push({ link: match[0], own: match[0].startsWith("/recordings/") });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** The unread badge's text: the count, or "9+". */
export function unreadLabel(count) {
  return count > 9 ? "9+" : String(count);
}
