"""Imports under faults (issue 15): a kill between an import and its enrichment, compressed copies
of a file, files from which nothing can be read. Each test failed before its fix."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import pg_database
from ucnstudy import Study, open_study
from ucnstudy.cli import main
from ucnstudy.errors import InputError
from ucnstudy.sources.base import ingest
from ucnstudy.sources.manifest import import_manifest
from ucnstudy.store.digest import content_digest

SRC = str(Path(__file__).resolve().parents[1] / "src")
MANIFEST = """\
users:
  - {username: u, country: fr}
devices:
  - login: u.pc
    platform: windows-laptop
    addresses:
      - {address: 141.142.220.118}
      - {address: 192.168.0.35}
"""
DERIVED = {"httpreqs": ("req_url_domain", "user_url", "matches_ctypefilter"),
           "dnsreqs": ("query_domain", "query_tld", "user_req", "duplicate")}
KILL_IN_ENRICHMENT = """
import os, signal, sys
from ucnstudy.enrich import run
def kill(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 after the import committed, mid-enrichment
run.flag_duplicates = kill
from ucnstudy.cli import main
sys.exit(main(sys.argv[1:]))
"""


def derived(url: str) -> dict[str, list[tuple[object, ...]]]:
    with open_study(url, read_only=True) as study:
        out = {}
        for table, columns in DERIVED.items():
            t = study.table(table).to_pyarrow()
            key = [c for c in ("ts", "req_url", "query") if c in t.column_names]
            rows = t.sort_by([(k, "ascending") for k in key]).to_pylist()
            out[table] = [tuple(r[c] for c in (*key, *columns)) for r in rows]
        return out


def run_killed(url: str, argv: list[str]) -> int:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-c", KILL_IN_ENRICHMENT, "--db", url, *argv],
                          env=env, capture_output=True).returncode


def study_urls(tmp_path: Path, name: str) -> tuple[str, str]:
    return str(tmp_path / f"{name}.duckdb"), str(tmp_path / f"{name}-reference.duckdb")


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
@pytest.mark.parametrize("kind", ["pcap", "squid"])
def test_a_kill_during_the_enrichment_after_an_import_is_finished_by_the_next_run(
        tmp_path: Path, real_data: Path, engine: str, kind: str) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST)
    source = (["pcap", "--device", "u.pc", str(real_data / "pcap" / "wikipedia.pcap")] if kind == "pcap"
              else ["squid", str(real_data / "squid" / "access3.log")])
    with pg_database() if engine == "postgres" else _nothing() as pg_url:
        url, reference = (pg_url, str(tmp_path / "reference.duckdb")) if pg_url else study_urls(tmp_path, "s")
        for target in (url, reference):
            assert main(["--db", target, "import", "manifest", str(manifest)]) == 0
        assert main(["--db", reference, "import", *source]) == 0  # the uninterrupted import
        assert run_killed(url, ["import", *source]) == -9
        with open_study(url, read_only=True) as study:
            assert study.pending_tasks() == {"enrich"}  # the rows committed, their enrichment not
            table = "httpreqs" if kind == "squid" else "dnsreqs"
            column = DERIVED[table][0]
            assert study.table(table).count().execute() > 0
            assert study.table(table)[column].notnull().sum().execute() == 0
        assert main(["--db", url, "import", *source]) == 0  # "already imported", yet enriched
        with open_study(url, read_only=True) as study:
            assert study.pending_tasks() == set()
        got, want = derived(url), derived(reference)
        assert got == want and any(r[-len(DERIVED["httpreqs"])] for r in got["httpreqs"])


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_ucn_enrich_also_finishes_what_a_killed_import_left(tmp_path: Path, real_data: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST)
    url, reference = study_urls(tmp_path, "s")
    source = ["squid", str(real_data / "squid" / "access3.log")]
    for target in (url, reference):
        assert main(["--db", target, "import", "manifest", str(manifest)]) == 0
    assert main(["--db", reference, "import", *source]) == 0
    assert run_killed(url, ["import", *source]) == -9
    assert main(["--db", url, "info"]) == 0
    assert "pending: enrich" in capsys.readouterr().out
    assert main(["--db", url, "enrich"]) == 0
    with open_study(url, read_only=True) as study:
        assert study.pending_tasks() == set()
    assert derived(url) == derived(reference)


def test_postgres_cancels_the_statements_of_a_vanished_client(pg_url: str) -> None:
    with open_study(pg_url) as study:
        (interval,) = study.engine.raw.execute("SHOW client_connection_check_interval").fetchone()
    assert interval == "2s"


def gzipped(source: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(source.read_bytes()))
    return target


def total_rows(study: Study) -> int:
    return sum(n for name, n in study.counts().items() if name not in ("imports", "study_tasks"))


def test_a_compressed_copy_is_the_same_content_for_every_importer(
        duck: Study, tmp_path: Path, real_data: Path) -> None:
    """access.log / .gz, pcap / .gz, a Zeek directory / its gzipped copy, CSV / .csv.gz,
    hostview .db / .zip: the second of each pair adds nothing."""
    from hostview_samples import build_hostview_db, zip_db
    from test_import_hostview import sample_rows
    from ucnstudy.sources.hostview import hostview_parser
    from ucnstudy.sources.pcap import pcap_parser
    from ucnstudy.sources.squid import parse_squid
    from ucnstudy.sources.table_file import table_parser
    from ucnstudy.sources.zeek import import_zeek

    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST.replace("  - {address: 192.168.0.35}",
                                         "  - {address: 192.168.0.35}\n      - {address: 147.32.83.161}")
                        + "  - {login: alice.laptop, platform: windows-laptop, users: [u]}\n")
    import_manifest(duck, str(manifest))
    zeek = real_data / "zeek" / "ctu-normal-012"
    zeek_gz = tmp_path / "zeek-gz"
    zeek_gz.mkdir()
    for log in zeek.glob("*.log.labeled"):
        gzipped(log, zeek_gz / f"{log.name}.gz")
    csv = tmp_path / "gt_io.csv"
    csv.write_text("devid,ts,io_device,appname\n1,2015-05-13 10:00:00,mouse,chrome.exe\n")
    db = build_hostview_db(tmp_path / "stats_1431511200.db", sample_rows())
    pairs = [
        ("squid", parse_squid, real_data / "squid" / "access3.log"),
        ("pcap", pcap_parser("u.pc"), real_data / "pcap" / "wikipedia.pcap"),
        ("table", table_parser("gt_io"), csv),
        ("hostview", hostview_parser("alice.laptop"), db),
    ]
    for kind, parser, plain in pairs:
        packed = zip_db(plain, tmp_path / f"{plain.name}.zip") if kind == "hostview" else \
            gzipped(plain, tmp_path / f"{plain.name}.gz")
        (first,) = ingest(duck, kind, [plain], parser)
        before = total_rows(duck)
        (second,) = ingest(duck, kind, [packed], parser)
        assert first.total_rows > 0 and second.skipped, kind
        assert total_rows(duck) == before and second.sha256 == first.sha256
        assert first.sha256 == hashlib.sha256(plain.read_bytes()).hexdigest()
    first_zeek = import_zeek(duck, [zeek], enrich=False)
    before = total_rows(duck)
    again = import_zeek(duck, [zeek_gz], enrich=False)
    assert sum(r.total_rows for r in first_zeek) > 0 and all(r.skipped for r in again)
    assert total_rows(duck) == before


def test_a_study_keyed_on_container_digests_still_skips_its_files(duck: Study, tmp_path: Path) -> None:
    """Imports recorded by an earlier version (digest of the .gz as stored) are still skipped."""
    from ucnstudy.sources.table_file import table_parser

    csv = tmp_path / "gt_io.csv"
    csv.write_text("devid,ts,io_device,appname\n1,2015-05-13 10:00:00,mouse,chrome.exe\n")
    packed = gzipped(csv, tmp_path / "gt_io.csv.gz")
    stored = hashlib.sha256(packed.read_bytes()).hexdigest()
    row = pa.table({"devid": [1], "ts": pa.array([0], pa.timestamp("us")), "io_device": ["mouse"]})
    duck.import_rows("table", packed, [("gt_io", row)], sha256=stored)
    (again,) = ingest(duck, "table", [packed], table_parser("gt_io"))
    assert again.skipped and duck.counts()["gt_io"] == 1


def test_a_truncated_gzip_is_keyed_on_its_bytes_as_stored(tmp_path: Path) -> None:
    packed = gzipped(write_lines(tmp_path / "a.log", 5000), tmp_path / "a.log.gz")
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    assert content_digest(cut) == hashlib.sha256(cut.read_bytes()).hexdigest()
    assert content_digest(packed) == hashlib.sha256((tmp_path / "a.log").read_bytes()).hexdigest()


def write_lines(path: Path, n: int) -> Path:
    path.write_text("".join(f"line {i} {i * 7919 % 1000003}\n" for i in range(n)))
    return path


MOVES = ('[{"date": "20150417", "segments": [{"type": "place", "startTime": "20150417T080000+0200", '
         '"endTime": "20150417T090000+0200", "place": {"id": 1, "name": "Home", "type": "home", '
         '"location": {"lat": 48.85, "lon": 2.35}}}]}]')


def test_a_wrong_format_or_importer_is_an_error_and_does_not_poison_the_file(
        tmp_path: Path, real_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.duckdb")
    (tmp_path / "m.yaml").write_text(MANIFEST)
    assert main(["--db", db, "import", "manifest", str(tmp_path / "m.yaml")]) == 0
    moves = tmp_path / "storyline.json"
    moves.write_text(MOVES)
    pcap = str(real_data / "pcap" / "wikipedia.pcap")
    wrong_then_right = [
        (["location", "--device", "u.pc", "--format", "timeline", str(moves)],
         "a Moves storyline (ucn import location --format moves)",
         ["location", "--device", "u.pc", "--format", "moves", str(moves)], "added 1 locations"),
        (["squid", pcap], "a pcap capture (ucn import pcap)",
         ["pcap", "--device", "u.pc", pcap], "httpreqs"),
        (["zeek", pcap], "a pcap capture (ucn import pcap)", None, None),
    ]
    capsys.readouterr()
    for wrong, hint, right, added in wrong_then_right:
        assert main(["--db", db, "import", *wrong]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "nothing could be read from it" in err and f"it looks like {hint}" in err, err
        with open_study(db, read_only=True) as study:
            assert not study.imported_path(wrong[0], wrong[-1])  # not recorded as imported
        if right is not None:
            assert main(["--db", db, "import", *right]) == 0
            out = " ".join(capsys.readouterr().out.split())
            assert added in out and "already imported" not in out


def test_an_empty_file_is_an_error_for_every_line_importer(duck: Study, tmp_path: Path) -> None:
    from ucnstudy.sources.squid import parse_squid
    from ucnstudy.sources.table_file import table_parser

    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    for kind, parser in (("squid", parse_squid), ("table", table_parser("gt_io"))):
        with pytest.raises(InputError, match=r"nothing could be read|empty"):
            ingest(duck, kind, [empty], parser)
    assert duck.counts()["imports"] == 0


def test_an_ssl_log_gives_names_not_rows_and_is_no_empty_import(duck: Study, tmp_path: Path) -> None:
    from test_import_zeek import add_devices
    from ucnstudy.sources.zeek import import_zeek

    add_devices(duck, ["10.0.0.2"])
    header = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t{last}\n"
    ssl = tmp_path / "ssl.log"
    ssl.write_text(header.format(last="server_name")
                   + "1425200400.0\tC1\t10.0.0.2\t50000\t1.1.1.1\t443\texample.com\n"
                   + "1425200401.0\tC2\t10.9.9.9\t50001\t1.1.1.1\t443\tother.org\n")  # no lease
    conn = tmp_path / "conn.log"
    conn.write_text(header.format(last="proto") + "1425200400.0\tC1\t10.0.0.2\t50000\t1.1.1.1\t443\ttcp\n")
    results = import_zeek(duck, [ssl, conn], enrich=False)
    assert [(Path(r.path).name, r.total_rows, r.skipped) for r in results] == [
        ("ssl.log", 0, False), ("conn.log", 1, False)]
    assert duck.table("flows").server_name.execute().tolist() == ["example.com"]
    only_unleased = tmp_path / "ssl.2.log"
    only_unleased.write_text(header.format(last="server_name")
                             + "1425200401.0\tC2\t10.9.9.9\t50001\t1.1.1.1\t443\tother.org\n")
    with pytest.raises(InputError, match="nothing could be read from it as zeek input"):
        import_zeek(duck, [only_unleased], enrich=False)
