// The stage layout's maths (DOM-free, tested with Node): which tile takes the stage, and an even grid of 16:9
// tiles for 1-8 people or a spotlight (one large tile and a strip of the others).

export const GAP = 10;
export const ASPECT = 16 / 9;
const NARROW_W = 700; // below this the strip goes under the featured tile instead of beside it

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

/**
 * The stage's layout for ``count`` tiles in a stage of ``stageWidth`` × ``stageHeight`` CSS px, one of them
 * ``featured`` (a screen share) or none. Returns null when the stage has no room yet, else
 * ``{spotlight, narrow, vars}`` with ``vars`` the CSS custom properties to set (px strings).
 */
export function stageLayout({ count, featured, stageWidth, stageHeight }) {
  const width = stageWidth - 2 * GAP;
  const height = stageHeight - 2 * GAP;
  if (width <= 0 || height <= 0) return null;
  if (featured) {
    const others = count - 1;
    const narrow = width < NARROW_W;
    const stripW = others ? (narrow ? width : Math.min(260, width * 0.24)) : 0;
    const stripTileH = others ? (narrow ? Math.min(110, height * 0.22) : Math.min(stripW / ASPECT, (height - GAP * (others - 1)) / others)) : 0;
    const stripTileW = narrow ? Math.min(stripTileH * ASPECT, (width - GAP * (others - 1)) / Math.max(1, others)) : stripW;
    return {
      spotlight: true,
      narrow,
      vars: {
        "--feature-w": `${narrow ? width : width - stripW - (others ? GAP : 0)}px`,
        "--feature-h": `${narrow ? height - stripTileH - (others ? GAP : 0) : height}px`,
        "--tile-w": `${Math.floor(stripTileW)}px`,
        "--tile-h": `${Math.floor(narrow ? stripTileH : stripTileW / ASPECT)}px`,
      },
    };
  }
  const { tileW, tileH } = bestGrid(Math.max(1, count), width, height);
  return { spotlight: false, narrow: false, vars: { "--tile-w": `${Math.floor(tileW)}px`, "--tile-h": `${Math.floor(tileH)}px` } };
}

/** The two views a person can pick: everyone equal, or the active speaker large and the others in a strip. */
export const VIEWS = ["grid", "speaker"];

/**
 * Which tile takes the stage (its id), or null for an even grid. ``tiles``: [{id, screen, self}] in stage order.
 * A pinned tile always does (in either view); otherwise a shared screen (someone else's before our own); otherwise,
 * in the speaker view only, the active speaker, else whoever had the stage before (``previous``), else the first
 * other person — the speaker view never shows ourselves large unless we are alone.
 */
export function chooseFeatured({ tiles, pinned = null, view = "grid", speaker = null, previous = null }) {
  const has = (id) => id !== null && tiles.some((t) => t.id === id);
  if (has(pinned)) return pinned;
  const screens = tiles.filter((t) => t.screen);
  if (screens.length) return (screens.find((t) => !t.self) || screens[0]).id;
  if (view !== "speaker") return null;
  const others = tiles.filter((t) => !t.self);
  if (!others.length) return null;
  if (has(speaker) && others.some((t) => t.id === speaker)) return speaker;
  if (has(previous) && others.some((t) => t.id === previous)) return previous;
  return others[0].id;
}
