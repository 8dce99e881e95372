"""Hostile and odd input (issue 15): each test failed before its fix."""

from __future__ import annotations

from pathlib import Path

from ucnstudy import Study
from ucnstudy.sources.manifest import import_manifest


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
