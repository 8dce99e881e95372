"""A study that lives for months: list, remove and replace imports, re-attribute after lease changes.

Every test runs on DuckDB and PostgreSQL (any_study); atomicity is tested by injecting a fault
half-way through the operation's transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle_scenario import (
    CORRECTED,
    START,
    SWITCH,
    arrow,
    build,
    fault_after,
    lease_reference,
    snapshot,
    squid_lines,
    write,
)
from ucnstudy import Study, open_study
from ucnstudy.errors import StudyError
from ucnstudy.schema import TRACED
from ucnstudy.sources.base import ingest
from ucnstudy.sources.manifest import manifest_parser
from ucnstudy.sources.squid import parse_squid
from ucnstudy.store.lifecycle import list_imports, reattribute, remove_imports


def test_every_loaded_row_traces_to_its_import(any_study: Study, tmp_path: Path) -> None:
    build(any_study, tmp_path)
    listing = list_imports(any_study)
    assert [(r.id, r.kind, Path(r.path).name) for r in listing.imports] == [
        (1, "manifest", "manifest.yaml"), (2, "squid", "access1.log"), (3, "squid", "access2.log")]
    assert listing.imports[1].table_rows == {"httpreqs": 96}
    assert listing.imports[0].table_rows == {"users": 3, "devices": 4, "user_devices": 5,
                                             "device_addresses": 4}
    assert listing.imports[1].options == {}  # ingest() called without options
    assert listing.untraced == {}
    for name in TRACED:  # the rows per import equal what each import recorded
        ids = Counter(any_study.table(name).import_id.to_pyarrow().to_pylist())
        want = {r.id: r.table_rows[name] for r in listing.imports if name in r.table_rows}
        assert dict(ids) == want, name


def test_removing_an_import_restores_the_study_before_it(any_study: Study, tmp_path: Path) -> None:
    files = build(any_study, tmp_path)
    ingest(any_study, "squid", [files["day2"]], parse_squid)  # a re-run adds nothing
    before = snapshot(any_study)
    extra = write(tmp_path / "access3.log", "\n".join(squid_lines(20, 2 * 86400)) + "\n")
    [added] = ingest(any_study, "squid", [extra], parse_squid)
    assert added.rows == {"httpreqs": 20}
    removed = remove_imports(any_study, [added.import_id])
    assert removed == {"httpreqs": 20}
    assert snapshot(any_study) == before
    assert [r.id for r in list_imports(any_study).imports] == [1, 2, 3]


def test_remove_is_atomic(any_study: Study, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(any_study, tmp_path)
    before, imports_before = snapshot(any_study), list_imports(any_study).imports
    with fault_after(any_study, monkeypatch, statements=len(TRACED) // 2):
        remove_imports(any_study, [2, 3])
    assert snapshot(any_study) == before and list_imports(any_study).imports == imports_before


def test_remove_errors(any_study: Study, tmp_path: Path) -> None:
    build(any_study, tmp_path)
    with pytest.raises(StudyError, match=r"no import with id 7, 9 in this study; `ucn imports`"):
        remove_imports(any_study, [2, 7, 9])
    with pytest.raises(StudyError, match=r"define devices that other imports' rows use \(144 httpreqs\)"):
        remove_imports(any_study, [1])
    assert any_study.counts()["httpreqs"] == 144
    assert remove_imports(any_study, [1, 2, 3])["httpreqs"] == 144  # all together is fine


def test_replace_swaps_rows_in_one_transaction(any_study: Study, tmp_path: Path) -> None:
    files = build(any_study, tmp_path)
    write(files["day1"], "\n".join(squid_lines(10)) + "\n")  # the log, fixed (fewer lines)
    [again] = ingest(any_study, "squid", [files["day1"]], parse_squid)  # same path, not replaced
    assert not again.skipped and again.rows == {"httpreqs": 10}  # new content: an import of its own
    [replaced] = ingest(any_study, "squid", [files["day1"]], parse_squid, replace=True)
    assert replaced.replaced_ids == [2, 4] and replaced.removed == {"httpreqs": 106}
    assert replaced.rows == {"httpreqs": 10} and replaced.import_id == 5
    ids = Counter(any_study.table("httpreqs").import_id.to_pyarrow().to_pylist())
    assert ids == {3: 48, 5: 10}
    [skipped] = ingest(any_study, "squid", [files["day1"]], parse_squid)  # idempotent as before
    assert skipped.skipped


def test_replace_is_atomic(any_study: Study, tmp_path: Path) -> None:
    files = build(any_study, tmp_path)
    before, imports_before = snapshot(any_study), list_imports(any_study).imports

    def failing(path: str, ctx):  # the new parse fails after its first chunk
        yield from parse_squid(path, ctx)
        raise RuntimeError("injected fault")

    with pytest.raises(RuntimeError, match="injected fault"):
        ingest(any_study, "squid", [files["day1"]], failing, replace=True)
    assert snapshot(any_study) == before and list_imports(any_study).imports == imports_before


def test_manifest_replace_then_reattribute(any_study: Study, tmp_path: Path) -> None:
    files = build(any_study, tmp_path)
    ids_before = any_study.table("devices").select("id", "login").to_pyarrow().to_pylist()
    write(files["manifest"], CORRECTED)
    [result] = ingest(any_study, "manifest", [files["manifest"]], manifest_parser, replace=True)
    assert result.replaced_ids == [1]
    devices = any_study.table("devices").select("id", "login").to_pyarrow().to_pylist()
    assert sorted(devices, key=str) == sorted(ids_before, key=str)  # ids are stable
    leases = any_study.table("device_addresses").to_pyarrow().to_pylist()
    assert len(leases) == 5
    http = any_study.table("httpreqs").to_pyarrow().to_pylist()
    want = Counter()
    for r in http:
        new = lease_reference(leases, r["srcip"], r["ts"])
        if new != r["devid"]:
            want[(r["devid"], new)] += 1
    assert want and all(old == 1 and new == 3 for old, new in want)  # alice.phone -> bob.phone
    moved = reattribute(any_study)
    assert moved.moved == {"httpreqs": {("alice.phone", "bob.phone"): sum(want.values())}}
    assert moved.unleased == {}
    after = any_study.table("httpreqs").to_pyarrow().to_pylist()
    assert all(r["devid"] == lease_reference(leases, r["srcip"], r["ts"]) for r in after)
    assert sum(r["ts"] >= SWITCH and r["srcip"] == "10.8.0.10" for r in after) == sum(want.values())
    assert reattribute(any_study).total_moved == 0  # a re-run moves nothing


def test_reattribute_is_atomic_and_leaves_other_rows(any_study: Study, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    files = build(any_study, tmp_path)
    capture = arrow([{"devid": 1, "ts": SWITCH, "srcip": "10.8.0.10"}], "dnsreqs")
    any_study.import_rows("pcap", "capture", [("dnsreqs", capture)], sha256="capture")
    write(files["manifest"], CORRECTED)
    ingest(any_study, "manifest", [files["manifest"]], manifest_parser, replace=True)
    before = snapshot(any_study)
    with fault_after(any_study, monkeypatch, statements=0):
        reattribute(any_study)
    assert snapshot(any_study) == before
    result = reattribute(any_study)
    assert "dnsreqs" not in result.moved  # a capture names its device: never re-attributed
    assert any_study.table("dnsreqs").devid.to_pyarrow().to_pylist() == [1]


leases_strategy = st.lists(st.tuples(
    st.integers(1, 3), st.sampled_from(["10.0.0.1", "10.0.0.2"]),
    st.one_of(st.none(), st.integers(0, 20)), st.one_of(st.none(), st.integers(0, 20))), max_size=6)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Study]:
    with open_study(":memory:") as study:
        study.create_schema()
        yield study


@settings(max_examples=12, deadline=None)
@given(leases=leases_strategy, rows=st.lists(st.tuples(
    st.integers(1, 3), st.sampled_from(["10.0.0.1", "10.0.0.2"]), st.integers(0, 20)), max_size=12))
def test_reattribute_matches_a_plain_lease_lookup(scratch: Study, leases: list, rows: list) -> None:
    hour = lambda h: START + timedelta(hours=h)  # noqa: E731
    lease_rows = [{"devid": d, "address": a, "valid_from": None if f is None else hour(f),
                   "valid_to": None if t is None else hour(t)} for d, a, f, t in leases]
    http = [{"devid": d, "ts": hour(h), "srcip": a, "source": "squid"} for d, a, h in rows]
    with scratch.engine.transaction() as writer:
        for name in ("devices", "device_addresses", "httpreqs", "imports"):
            writer.execute(f"DELETE FROM {name}")
    scratch.import_rows("manifest", "m", [
        ("devices", pa.table({"id": [1, 2, 3], "login": ["a.x", "b.x", "c.x"]})),
        ("device_addresses", arrow(lease_rows, "device_addresses"))], sha256="m")
    scratch.import_rows("squid", "s", [("httpreqs", arrow(http, "httpreqs"))], sha256="s")
    result = reattribute(scratch)
    got = [(r["ts"], r["srcip"], r["devid"]) for r in scratch.table("httpreqs").to_pyarrow().to_pylist()]
    want, moved, unleased = [], Counter(), 0
    for r in http:
        new = lease_reference(lease_rows, r["srcip"], r["ts"])
        unleased += new is None
        if new is not None and new != r["devid"]:
            moved[(f"{'abc'[r['devid'] - 1]}.x", f"{'abc'[new - 1]}.x")] += 1
        want.append((r["ts"], r["srcip"], r["devid"] if new is None else new))
    assert sorted(got) == sorted(want)
    assert result.moved.get("httpreqs", {}) == dict(moved)
    assert result.unleased.get("httpreqs", 0) == unleased
