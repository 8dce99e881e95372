"""Where a CSV file goes wrong: the line and column that Arrow's fast reader cannot name.

Arrow reads CSV in blocks and reports a bad row by its text, a bad cell by its column only, an
oversized cell as a block boundary. On such an error the file is read again, slowly, with
Python's csv module, to find the first record that is wrong and say why.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator

from ucnstudy.errors import InputError
from ucnstudy.sources.logfiles import open_binary

_FIELD_LIMIT = 1 << 30


def csv_header(path: str, delimiter: str) -> list[str]:
    """The column names on the first line (never the rows after it)."""
    with open_binary(path) as f:
        first = f.readline()
    try:
        text = codecs.decode(first, "utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"the header is not UTF-8 text (byte {exc.start + 1})", line=1) from None
    names = next(csv.reader([text], delimiter=delimiter), [])
    if not names or any(not n.strip() for n in names):
        raise InputError(path, "the header names no columns or has an empty column name", line=1)
    if len(set(names)) != len(names):
        raise InputError(path, "the header repeats a column name", line=1)
    return names


def locate_csv_error(path: str, delimiter: str, header: list[str], max_cell: int) -> InputError | None:
    """The first record with the wrong number of cells, a cell that is not UTF-8, or a cell
    larger than `max_cell` bytes, as an InputError naming its line (and column)."""
    previous = csv.field_size_limit(_FIELD_LIMIT)
    try:
        for line, row in _records(path, delimiter):
            if line == 1:
                continue
            problem = _row_problem(row, header, max_cell)
            if problem is not None:
                column, message = problem
                return InputError(path, message, line=line, column=column)
    except (csv.Error, EOFError, OSError) as exc:
        return InputError(path, f"malformed CSV: {exc}")
    finally:
        csv.field_size_limit(previous)
    return None


def _records(path: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, its cells); undecodable bytes kept as surrogates."""
    with open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        start = 1
        for row in reader:
            yield start, row
            start = reader.line_num + 1


def _row_problem(row: list[str], header: list[str], max_cell: int) -> tuple[str | None, str] | None:
    if not row:
        return None  # a blank line
    if len(row) != len(header):
        column = header[len(row)] if len(row) < len(header) else None
        cut = " (the file may be cut short)" if len(row) < len(header) else ""
        return column, f"{len(row)} cells where the header has {len(header)}{cut}"
    for name, cell in zip(header, row, strict=True):
        try:
            size = len(cell.encode("utf-8"))
        except UnicodeEncodeError:
            return name, "the cell is not UTF-8 text"
        if size > max_cell:
            return name, f"a cell of {size:,} bytes: cells may hold at most {max_cell:,}"
    return None
