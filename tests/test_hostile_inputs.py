"""Hostile and odd input (issue 15): each test failed before its fix."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_import_squid import add_devices
from ucnstudy import Study
from ucnstudy.errors import InputError
from ucnstudy.sources.base import ingest
from ucnstudy.sources.manifest import import_manifest
from ucnstudy.sources.pcap.gunzip import GunzipStream
from ucnstudy.sources.squid import parse_squid, unquote
from ucnstudy.sources.table_file import table_parser
from ucnstudy.store.conform import first_nul, replace_nul


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def owners(study: Study) -> dict[str, str]:
    users = {int(r["id"]): r["username"] for r in study.table("users").to_pyarrow().to_pylist()}
    devices = {int(r["id"]): r["login"] for r in study.table("devices").to_pyarrow().to_pylist()}
    return {devices[int(r["device_id"])]: users[int(r["user_id"])]
            for r in study.table("user_devices").to_pyarrow().to_pylist()}


def test_a_dotted_username_owns_its_devices_by_the_longest_prefix(duck: Study, tmp_path: Path) -> None:
    manifest = write(tmp_path, "m.yaml", """\
users:
  - {username: o, country: fr}
  - {username: o.brien, country: uk}
devices:
  - {login: o.brien.laptop, platform: windows-laptop}
  - {login: o.phone, platform: iphone}
""")
    import_manifest(duck, str(manifest))
    assert owners(duck) == {"o.brien.laptop": "o.brien", "o.phone": "o"}


def squid_quoted(value: str) -> str:
    """squid's log_quoted_string (src/log/..., squid 3.1): CR LF TAB as \\r \\n \\t, and a
    backslash before '"' and '\\'; an independent re-implementation of the C loop."""
    out = []
    for ch in value:
        out.append({"\r": "\\r", "\n": "\\n", "\t": "\\t", '"': '\\"', "\\": "\\\\"}.get(ch, ch))
    return "".join(out)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
       .filter(lambda s: s != "-"))
@settings(max_examples=200, deadline=None)
def test_squid_escapes_decode_as_squid_encodes_them(value: str) -> None:
    assert unquote(squid_quoted(value)) == value


def test_a_user_agent_with_a_newline_survives_a_squid_log(duck: Study, tmp_path: Path) -> None:
    add_devices(duck, [(1, "10.0.0.7", None, None)])
    ua = 'Moz\nilla\t5.0 \\ "x"\r'
    log = write(tmp_path, "access.log",
                f"01/Mar/2015:10:00:00 +0100 1425200400.000 12 10.0.0.7 TCP_MISS/200 512 GET "
                f"http://example.com/ - HTTP/1.1 DIRECT/93.184.216.34 text/html "
                f'"-" "{squid_quoted(ua)}"\n')
    (result,) = ingest(duck, "squid", [log], parse_squid)
    assert result.rows == {"httpreqs": 1}
    assert duck.table("httpreqs").req_ua.execute().tolist() == [ua]


SQUID_LINE = ("01/Mar/2015:10:00:00 +0100 1425200400.000 12 10.0.0.7 TCP_MISS/200 512 GET "
              'http://example.com/{n} - HTTP/1.1 DIRECT/93.184.216.34 text/html "-" "{ua}"\n')


def test_a_nul_character_is_handled_alike_on_every_engine(any_study: Study, tmp_path: Path) -> None:
    """PostgreSQL refused NUL with a CharacterNotInRepertoire traceback while DuckDB stored it."""
    manifest = write(tmp_path, "m.yaml", 'users:\n  - {username: u, familyname: "sm\\0ith"}\n')
    with pytest.raises(InputError, match=r"m.yaml, line 2: user entry: 'familyname' holds a NUL"):
        import_manifest(any_study, str(manifest))
    add_devices(any_study, [(1, "10.0.0.7", None, None)])
    log = write(tmp_path, "access.log", (SQUID_LINE.format(n=1, ua="Mozilla")
                                         + SQUID_LINE.format(n=2, ua="Moz\x00illa")))
    (result,) = ingest(any_study, "squid", [log], parse_squid)
    assert result.rows == {"httpreqs": 1}
    assert any(w.startswith(f"{log}, line 2: a NUL character") for w in result.warnings)
    with pytest.raises(InputError, match=r"line 2: a NUL character"):
        ingest(any_study, "squid", [write(tmp_path, "copy.log", log.read_bytes())], parse_squid,
               strict=True)
    csv = write(tmp_path, "io.csv", "devid,ts,io_device,appname\n1,2015-03-01 10:00:00,mouse,a\n"
                                    "1,2015-03-01 10:00:01,mouse,b\x00c\n")
    with pytest.raises(InputError, match=r"io.csv, row 2, column 'appname': a NUL character"):
        ingest(any_study, "table", [csv], table_parser("gt_io"))
    # rows from binary sources (captures, HostView) keep their row, with U+FFFD in place of NUL
    rows = pa.table({"devid": [1, 1], "ts": pa.array([1, 2], pa.timestamp("s")),
                     "req_ua": ["ok", "a\x00b"], "req_url": ["http://x/", "http://y/\x00"]})
    loaded = any_study.import_rows("pcap", "capture.pcap", [("httpreqs", rows)], sha256="nul")
    assert loaded.rows == {"httpreqs": 2}
    why = "values held a NUL character, stored as U+FFFD (no engine keeps NUL in text alike)"
    assert sorted(w.split(": ", 1)[1] for w in loaded.warnings) == [
        f"1 httpreqs.req_ua {why}", f"1 httpreqs.req_url {why}"]
    stored = any_study.table("httpreqs").to_pyarrow().to_pylist()
    assert sorted(r["req_ua"] for r in stored if r["source"] != "squid") == ["a\ufffdb", "ok"]
    assert any_study.counts()["users"] == 0


def test_nul_in_lists_is_replaced_too() -> None:
    data = pa.table({"ans_name": pa.array([["a\x00", None], None, ["ok"]], pa.list_(pa.string()))})
    fixed, changed = replace_nul(data)
    assert changed == {"ans_name": 1}
    assert fixed.column("ans_name").to_pylist() == [["a\ufffd", None], None, ["ok"]]
    assert first_nul(data) == ("ans_name", 1) and first_nul(fixed) is None


def test_import_table_names_the_real_line_and_column(duck: Study, tmp_path: Path) -> None:
    parser = table_parser("gt_io")
    good = "1,2015-05-13 10:00:00,mouse,chrome.exe\n"
    cases = {
        "cut.csv": (HEADER + good + "2,2015-05-13 10:00:01,mou").encode(),
        "big.csv": (HEADER + good + "1,2015-05-13 10:00:00,mouse," + "x" * (10 << 20) + "\n").encode(),
        "latin1.csv": (HEADER + good * 3).encode() + b"1,2015-05-13 10:00:00,mouse,chr\xe9me\n",
        "quoted.csv": (HEADER + '1,2015-05-13 10:00:00,mouse,"two\nlines"\n' + "1,x\n").encode(),
    }
    expected = {
        "cut.csv": r"cut.csv(.gz)?, line 3, column 'appname': 3 cells where the header has 4",
        "big.csv": r"big.csv(.gz)?, line 3, column 'appname': a cell of 10,485,760 bytes",
        "latin1.csv": r"latin1.csv(.gz)?, line 5, column 'appname': the cell is not UTF-8 text",
        "quoted.csv": r"quoted.csv(.gz)?, line 4, column 'io_device': 2 cells where the header has 4",
    }
    for name, content in cases.items():
        path = write(tmp_path, name, content)
        with pytest.raises(InputError, match=expected[name]):
            ingest(duck, "table", [path], parser)
        with pytest.raises(InputError, match=expected[name]):  # the same inside gzip
            ingest(duck, "table", [write(tmp_path, f"{name}.gz", gzip.compress(content))], parser)
    assert duck.counts()["gt_io"] == 0


HEADER = "devid,ts,io_device,appname\n"


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_pcap_gz_keeps_what_decodes_like_a_plain_capture(
        tmp_path: Path, real_data: Path, keep: float) -> None:
    from pcap_helpers import parse_capture

    packed = gzip.compress((real_data / "pcap" / "wikipedia.pcap").read_bytes())
    cut = write(tmp_path, "cut.pcap.gz", packed[:int(len(packed) * keep)])
    decodable = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut.read_bytes())  # reference
    plain = write(tmp_path, "cut.pcap", decodable)
    from_gz, problems = parse_capture(cut)
    from_plain, _ = parse_capture(plain)
    assert from_gz and {k: v.to_pylist() for k, v in from_gz.items()} == {
        k: v.to_pylist() for k, v in from_plain.items()}
    assert any("compressed stream ends or is corrupt" in p for p in problems)


def test_gunzip_stream_reads_members_and_reports_the_cut_after_the_data() -> None:
    first, second = bytes(range(256)) * 4000, b"second member"
    stream = GunzipStream(io.BytesIO(gzip.compress(first) + gzip.compress(second)))
    assert read_all(stream) == (first + second, None)
    cut = gzip.compress(first)[:-40]
    data, error = read_all(GunzipStream(io.BytesIO(cut)))
    assert data == zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut) and isinstance(error, EOFError)


def read_all(stream: GunzipStream) -> tuple[bytes, BaseException | None]:
    out, buf = bytearray(), bytearray(70_000)
    try:
        while n := stream.readinto(buf):
            out += buf[:n]
    except (EOFError, zlib.error) as exc:
        return bytes(out), exc
    return bytes(out), None
