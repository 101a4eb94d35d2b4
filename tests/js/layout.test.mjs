import assert from "node:assert/strict";
import { test } from "node:test";

import { ASPECT, bestGrid, chooseFeatured, GAP, stageLayout } from "../../web/static/js/layout.js";

test("bestGrid: one tile fills the width of a wide box at 16:9", () => {
  const { cols, tileW, tileH } = bestGrid(1, 1600, 900);
  assert.equal(cols, 1);
  assert.equal(tileW, 1600);
  assert.equal(tileH, 900);
});

test("bestGrid: the columns that make the tiles largest, and the tiles always fit", () => {
  assert.equal(bestGrid(2, 1600, 900).cols, 2); // side by side in a wide box
  assert.equal(bestGrid(2, 500, 900).cols, 1); // stacked in a tall one
  assert.equal(bestGrid(4, 1600, 900).cols, 2);
  for (let n = 1; n <= 8; n++) {
    for (const [w, h] of [[1600, 900], [800, 1200], [390, 700], [1200, 300]]) {
      const { cols, tileW, tileH } = bestGrid(n, w, h);
      const rows = Math.ceil(n / cols);
      assert.ok(cols * tileW + GAP * (cols - 1) <= w + 1e-6, `n=${n} ${w}x${h} too wide`);
      assert.ok(rows * tileH + GAP * (rows - 1) <= h + 1e-6, `n=${n} ${w}x${h} too tall`);
      assert.ok(Math.abs(tileW / tileH - ASPECT) < 1e-9);
    }
  }
});

test("stageLayout: nothing before the stage has a size", () => {
  assert.equal(stageLayout({ count: 2, featured: false, stageWidth: 0, stageHeight: 0 }), null);
  assert.equal(stageLayout({ count: 2, featured: true, stageWidth: 2 * GAP, stageHeight: 500 }), null);
});

test("stageLayout: an even grid sets the tile size only", () => {
  const plan = stageLayout({ count: 4, featured: false, stageWidth: 1620, stageHeight: 920 });
  const grid = bestGrid(4, 1600, 900);
  assert.deepEqual(plan, {
    spotlight: false,
    narrow: false,
    vars: { "--tile-w": `${Math.floor(grid.tileW)}px`, "--tile-h": `${Math.floor(grid.tileH)}px` },
  });
});

test("stageLayout: a spotlight on a wide stage puts the others in a strip beside it", () => {
  const plan = stageLayout({ count: 3, featured: true, stageWidth: 1220, stageHeight: 720 });
  assert.equal(plan.spotlight, true);
  assert.equal(plan.narrow, false);
  const strip = Math.min(260, 1200 * 0.24); // 260
  assert.equal(plan.vars["--feature-w"], `${1200 - strip - GAP}px`);
  assert.equal(plan.vars["--feature-h"], "700px");
  assert.equal(plan.vars["--tile-w"], `${strip}px`);
  assert.equal(plan.vars["--tile-h"], `${Math.floor(strip / ASPECT)}px`);
});

test("stageLayout: a spotlight on a narrow stage puts the strip underneath; alone it takes the stage", () => {
  const narrow = stageLayout({ count: 3, featured: true, stageWidth: 420, stageHeight: 820 });
  assert.equal(narrow.narrow, true);
  assert.equal(narrow.vars["--feature-w"], "400px");
  assert.equal(narrow.vars["--tile-h"], "110px"); // min(110, 800 * 0.22)
  assert.equal(narrow.vars["--feature-h"], `${800 - 110 - GAP}px`);
  const alone = stageLayout({ count: 1, featured: true, stageWidth: 1220, stageHeight: 720 });
  assert.equal(alone.vars["--feature-w"], "1200px");
  assert.equal(alone.vars["--feature-h"], "700px");
});

test("chooseFeatured: pin first, then a shared screen, then the speaker view's active speaker", () => {
  const tiles = [{ id: "self", self: true }, { id: "a" }, { id: "b" }, { id: "c" }];
  assert.equal(chooseFeatured({ tiles }), null); // grid, nobody sharing
  assert.equal(chooseFeatured({ tiles, view: "speaker", speaker: "b" }), "b");
  assert.equal(chooseFeatured({ tiles, view: "speaker" }), "a"); // nobody spoke yet: the first other person
  assert.equal(chooseFeatured({ tiles, view: "speaker", previous: "c" }), "c"); // the stage stays through silence
  assert.equal(chooseFeatured({ tiles, view: "speaker", speaker: "gone", previous: "gone" }), "a");
  const sharing = tiles.map((t) => (t.id === "c" ? { ...t, screen: true } : t));
  assert.equal(chooseFeatured({ tiles: sharing, view: "speaker", speaker: "b" }), "c"); // a screen takes the stage
  assert.equal(chooseFeatured({ tiles: sharing, pinned: "a" }), "a"); // ...unless someone is pinned
  assert.equal(chooseFeatured({ tiles, pinned: "self" }), "self"); // our own tile can be pinned (our screen)
  assert.equal(chooseFeatured({ tiles, pinned: "left" }), null); // a pin on someone who left is void
  const both = [{ id: "self", self: true, screen: true }, { id: "a", screen: true }];
  assert.equal(chooseFeatured({ tiles: both }), "a"); // someone else's screen before our own
  assert.equal(chooseFeatured({ tiles: [{ id: "self", self: true }], view: "speaker" }), null); // alone
});
