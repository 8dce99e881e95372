"""Location histories (Moves, Google Takeout, Google Timeline.json, GPX) as `locations` intervals.

One module per format, each a `parse(path, ctx, rows, opts)` generator of row dicts; this
package turns them into an ingest parser. See docs/inputs/location.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa

from ucnstudy.sources.base import IngestContext, Parser, chunked
from ucnstudy.sources.location import gpx, moves, takeout, timeline
from ucnstudy.sources.location.common import LocationOptions, RowBuilder

FormatParser = Callable[[str, IngestContext, RowBuilder, LocationOptions], Iterator[dict[str, object]]]
FORMATS: dict[str, FormatParser] = {
    "moves": moves.parse,
    "takeout": takeout.parse,
    "timeline": timeline.parse,
    "gpx": gpx.parse,
}
KIND = "location"


def location_parser(fmt: str, login: str, opts: LocationOptions | None = None) -> Parser:
    """The ingest parser for files of format `fmt` recorded by device `login`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown location format {fmt!r}; formats: {', '.join(FORMATS)}")
    parse_format, options = FORMATS[fmt], opts or LocationOptions()

    def parse(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
        ctx.options["command"] = f"ucn import location --format {fmt}"  # for the hint of base.py
        rows = RowBuilder(ctx, ctx.device_id(login), fmt)
        yield from chunked(parse_format(path, ctx, rows, options), "locations", size=50_000)
        rows.flush()

    return parse


__all__ = ["FORMATS", "KIND", "LocationOptions", "location_parser"]
