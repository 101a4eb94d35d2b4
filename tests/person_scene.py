"""A camera picture for the background-effect tests: a real person (NASA's public-domain portrait of the
astronaut Eileen Collins, as scikit-image ships it, scaled down to tests/data/astronaut.jpg) in the middle of a
background of fine random texture, with the known mask of where the person is.

The mask is drawn by hand from the portrait (head ellipse, suit polygon) a little inside her outline, so
everything outside it is texture; the regions the tests measure keep a margin from it either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PORTRAIT = Path(__file__).resolve().parent / "data" / "astronaut.jpg"
WIDTH, HEIGHT = 640, 360
PERSON_LEFT = 140  # the portrait, scaled to the frame's height, sits in the middle
TEXTURE_BLOCK = 3  # pixels per random grey block: fine detail the encoder still keeps at this size
# In the portrait's own 256 x 256 pixels.
HEAD = (113 - 34, 52 - 44, 113 + 34, 52 + 44)
SUIT = [(62, 90), (163, 90), (178, 150), (182, 256), (14, 256), (17, 165), (38, 128)]
FACE = (113 - 22, 48 - 26, 113 + 22, 48 + 30)  # inside the head: the region whose detail must stay


def _portrait_mask(shape: list[tuple[float, float]] | tuple[float, ...], ellipse: bool, scale: float) -> np.ndarray:
    image = Image.new("L", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(image)
    if ellipse:
        x0, y0, x1, y1 = shape  # type: ignore[misc]
        draw.ellipse((PERSON_LEFT + x0 * scale, y0 * scale, PERSON_LEFT + x1 * scale, y1 * scale), fill=255)
    else:
        draw.polygon([(PERSON_LEFT + x * scale, y * scale) for x, y in shape], fill=255)  # type: ignore[misc]
    return np.asarray(image) > 0


def person_scene(seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(RGB frame HEIGHT x WIDTH x 3 uint8, person mask, face mask)."""
    scale = HEIGHT / 256
    person = _portrait_mask(HEAD, True, scale) | _portrait_mask(SUIT, False, scale)
    face = _portrait_mask(FACE, True, scale)
    rng = np.random.default_rng(seed)
    blocks = rng.integers(30, 226, size=(HEIGHT // TEXTURE_BLOCK + 1, WIDTH // TEXTURE_BLOCK + 1), dtype=np.uint8)
    grey = np.kron(blocks, np.ones((TEXTURE_BLOCK, TEXTURE_BLOCK), np.uint8))[:HEIGHT, :WIDTH]
    tint = np.array([0.85, 0.95, 1.0])  # a cool wall, so the background is not mistaken for skin
    frame = (grey[..., None] * tint).astype(np.uint8)
    portrait = Image.open(PORTRAIT).convert("RGB").resize((HEIGHT, HEIGHT), Image.Resampling.LANCZOS)
    scene = Image.fromarray(frame)
    # A slightly feathered edge, as a camera sees one.
    alpha = Image.fromarray(person.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(1.5))
    placed = Image.new("RGB", (WIDTH, HEIGHT))
    placed.paste(portrait, (PERSON_LEFT, 0))
    scene.paste(placed, (0, 0), alpha)
    return np.asarray(scene), person, face


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """``mask`` grown by ``pixels`` in every direction (a square neighbourhood)."""
    image = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(2 * pixels + 1))
    return np.asarray(image) > 0


def laplacian_variance(grey: np.ndarray, region: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of ``grey`` over ``region`` (a measure of fine detail)."""
    g = grey.astype(np.float64)
    lap = np.zeros_like(g)
    lap[1:-1, 1:-1] = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    inner = np.zeros_like(region)
    inner[1:-1, 1:-1] = region[1:-1, 1:-1]
    return float(lap[inner].var())


def resized(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """``mask`` scaled to ``width`` x ``height`` (nearest neighbour)."""
    image = Image.fromarray(mask.astype(np.uint8) * 255).resize((width, height), Image.Resampling.NEAREST)
    return np.asarray(image) > 0
