"""Named colours of objects, colours of walls and floors, and the size categories.

Object colours are well apart in RGB so a sentence's colour word is learnable from the points; structure colours
are muted so walls and floors do not read as any named colour too strongly.
"""
from __future__ import annotations

COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.80, 0.12, 0.12),
    "orange": (0.95, 0.52, 0.10),
    "yellow": (0.93, 0.83, 0.18),
    "green": (0.18, 0.58, 0.22),
    "blue": (0.14, 0.30, 0.80),
    "purple": (0.50, 0.20, 0.62),
    "white": (0.93, 0.93, 0.91),
    "grey": (0.50, 0.50, 0.50),
    "black": (0.09, 0.09, 0.09),
    "brown": (0.46, 0.28, 0.13),
}
COLOR_NAMES = tuple(COLORS)

FOLIAGE = (0.22, 0.50, 0.18)  # plants: the named colour is the pot's; leaves are always this green

WALL_COLORS = ((0.86, 0.82, 0.72), (0.80, 0.80, 0.78), (0.75, 0.80, 0.86), (0.79, 0.84, 0.75))
FLOOR_COLORS = ((0.66, 0.50, 0.33), (0.42, 0.31, 0.21), (0.45, 0.45, 0.45), (0.74, 0.69, 0.61))

# size category -> uniform range of the scale applied to a class's nominal dimensions. The gaps between ranges keep
# "small" / "large" perceptible (a large object is >= 1.4x the volume of a regular one, and so on).
SIZES: dict[str, tuple[float, float]] = {"small": (0.72, 0.82), "medium": (0.95, 1.05), "large": (1.22, 1.34)}
SIZE_NAMES = tuple(SIZES)
SIZE_PROBS = (0.25, 0.5, 0.25)
