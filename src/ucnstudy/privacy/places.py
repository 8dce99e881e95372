"""Locations: coordinates snapped to a grid, place labels kept, everything else of a place cut.

The grid has square cells of `grid_m` metres north-south (1 degree of latitude = 111,320 m) and
the same size in degrees east-west, so cells narrow towards the poles (at 50 degrees north a
1,000 m cell is 640 m wide). A coordinate becomes its cell's centre.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

METRES_PER_DEGREE = 111_320.0
# Labels that name a kind of place, not a place: kept as they are (lower case).
PLACE_LABELS = frozenset({
    "home", "work", "school", "university", "office", "gym", "shop", "shopping", "restaurant",
    "cafe", "bar", "friend", "family", "travel", "transport", "station", "airport", "hotel",
    "hospital", "park", "other", "unknown", "commute", "leisure", "sport",
})


def snap(values: pa.Array, grid_m: float) -> pa.Array:
    """Each coordinate replaced by the centre of its grid cell (NULL stays NULL)."""
    cell = grid_m / METRES_PER_DEGREE
    x = values.to_numpy(zero_copy_only=False).astype("float64")
    snapped = (np.floor(x / cell) + 0.5) * cell
    return pa.array(snapped, pa.float64(), mask=np.asarray(values.is_null()))


def place_label(name: str) -> str | None:
    """The kind-of-place label a name starts with ('home, Rennes' -> 'home'), else None."""
    first = name.split(",", 1)[0].strip().lower()
    return first if first in PLACE_LABELS else None
