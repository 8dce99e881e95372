"""Hostile and odd input (issue 15): each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from test_import_squid import add_devices
from ucnstudy import Study
from ucnstudy.sources.base import ingest
from ucnstudy.sources.manifest import import_manifest
from ucnstudy.sources.squid import parse_squid, unquote


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
