"""The ingest driver: the digest computed alongside the parse keeps loads atomic and idempotent."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ucnstudy import Study
from ucnstudy.errors import InputError
from ucnstudy.sources.base import IngestContext, ingest
from ucnstudy.store.digest import CHUNK, BackgroundDigest, file_digest


def parse_lines(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
    """A toy parser: one devices row per line 'id,login'."""
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if "," not in line:
            raise InputError(path, "no comma", line=number)
        ident, login = line.split(",")
        yield "devices", pa.table({"id": [int(ident)], "login": [login]})


def test_same_content_under_a_new_path_is_rolled_back(any_study: Study, tmp_path: Path) -> None:
    first, copy = tmp_path / "a.csv", tmp_path / "copy-of-a.csv"
    first.write_text("1,alice.phone\n2,bob.laptop\n")
    copy.write_bytes(first.read_bytes())
    (a,) = ingest(any_study, "toy", [first], parse_lines)
    (b,) = ingest(any_study, "toy", [copy], parse_lines)  # new path: parsed, then found a duplicate
    (c,) = ingest(any_study, "toy", [first], parse_lines)  # known path: digest first, not parsed
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert (a.skipped, a.rows, a.sha256) == (False, {"devices": 2}, digest)
    assert (b.skipped, b.rows, b.sha256) == (True, {}, digest)
    assert (c.skipped, c.rows) == (True, {})
    assert any_study.counts()["devices"] == 2
    imports = any_study.table("imports").to_pyarrow().to_pylist()
    assert [(r["path"], r["sha256"], r["rows"]) for r in imports] == [(str(first), digest, 2)]


def test_a_changed_file_under_a_known_path_is_loaded(duck: Study, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("1,alice.phone\n")
    ingest(duck, "toy", [path], parse_lines)
    path.write_text("1,alice.phone\n2,bob.laptop\n")
    (again,) = ingest(duck, "toy", [path], parse_lines)
    assert not again.skipped and again.rows == {"devices": 2}


def test_a_parse_error_leaves_nothing_and_stops_the_digest(duck: Study, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("1,alice.phone\n2 bob.laptop\n")
    with pytest.raises(InputError, match="line 2"):
        ingest(duck, "toy", [path], parse_lines)
    assert duck.counts()["devices"] == 0
    assert not duck.imported_path("toy", path)


@settings(max_examples=25, deadline=None)
@given(size=st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7]), seed=st.integers(0, 255))
def test_digests_equal_hashlib(tmp_path_factory: pytest.TempPathFactory, size: int, seed: int) -> None:
    path = tmp_path_factory.mktemp("digest") / "f.bin"
    data = bytes((seed + i * 7) % 256 for i in range(size))
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert file_digest(path) == expected
    assert BackgroundDigest(path).result() == expected


def test_background_digest_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        BackgroundDigest(tmp_path / "gone.bin").result()


def test_many_chunks_load_in_order_through_the_writer_thread(any_study: Study, tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("".join(f"{i},device{i}\n" for i in range(1, 41)))  # 40 chunks, queue depth 2
    (result,) = ingest(any_study, "toy", [path], parse_lines)
    assert result.rows == {"devices": 40}
    got = any_study.table("devices").to_pyarrow().sort_by("id")
    assert got["login"].to_pylist() == [f"device{i}" for i in range(1, 41)]


def test_a_load_error_on_the_writer_thread_reaches_the_caller(duck: Study, tmp_path: Path) -> None:
    def null_id(path: str, ctx: IngestContext) -> Iterator[tuple[str, pa.Table]]:
        yield "devices", pa.table({"id": [1], "login": ["ok"]})
        yield "devices", pa.table({"id": pa.array([None], pa.int64()), "login": ["no id"]})
        for i in range(2, 10):  # the parser may run ahead of the failed append
            yield "devices", pa.table({"id": [i], "login": [f"d{i}"]})

    path = tmp_path / "x.csv"
    path.write_text("x")
    with pytest.raises(InputError, match="column 'id'"):
        ingest(duck, "toy", [path], null_id)
    assert duck.counts()["devices"] == 0 and not duck.imported_path("toy", path)
