"""Read a study manifest (YAML or CSV) into validated records; see docs/inputs/manifest.md.

This module knows the file formats and the value rules (platforms, time zones, addresses).
`sources.manifest` merges the records with what the study already holds.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ucnstudy.errors import InputError
from ucnstudy.schema import timezone_of
from ucnstudy.sources.timewindow import time_window

# platform -> (devtype, os), the values of the original study.
PLATFORMS: dict[str, tuple[str, str]] = {
    "iphone": ("phone", "ios"),
    "ipad": ("tablet", "ios"),
    "android-phone": ("phone", "android"),
    "android-tablet": ("tablet", "android"),
    "macbook": ("laptop", "darwin"),
    "windows-laptop": ("laptop", "windows"),
    "windows-pc": ("pc", "windows"),
}
DEVTYPES = ("phone", "tablet", "laptop", "pc")
OSES = ("ios", "android", "darwin", "windows")
SECTIONS = {"users": "user", "devices": "device", "links": "link", "user_devices": "link",
            "leases": "lease", "device_addresses": "lease", "networks": "network"}
NETWORK_TYPES = ("cellular", "home", "work", "public", "unknown")
ACCESS_TYPES = ("cellular", "wifi", "fixed")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]*$")
FIELDS = {
    "user": ("username", "familyname", "country", "timezone", "starttime"),
    "device": ("login", "name", "platform", "devtype", "os", "users", "addresses"),
    "link": ("username", "login"),
    "lease": ("login", "address", "valid_from", "valid_to"),
    "network": ("login", "network_type", "access_type", "name", "valid_from", "valid_to"),
}
ALL_FIELDS = tuple(dict.fromkeys(f for fields in FIELDS.values() for f in fields))


@dataclass(frozen=True)
class User:
    username: str
    familyname: str | None
    country: str | None
    timezone: str
    starttime: datetime | None
    line: int | None
    timezone_given: bool = True  # False: derived from the country


@dataclass(frozen=True)
class Device:
    login: str
    name: str | None
    platform: str
    devtype: str
    os: str
    line: int | None


@dataclass(frozen=True)
class Link:
    username: str
    login: str
    line: int | None


@dataclass(frozen=True)
class Lease:
    login: str
    address: str
    valid_from: datetime | None
    valid_to: datetime | None
    line: int | None


@dataclass(frozen=True)
class Network:
    """A network declared for a device over [valid_from, valid_to) (None: unbounded)."""

    login: str
    network_type: str
    access_type: str | None
    name: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    line: int | None


@dataclass
class ManifestRecords:
    users: list[User]
    devices: list[Device]
    links: list[Link]
    leases: list[Lease]
    networks: list[Network] = field(default_factory=list)


class _Entry:
    """One raw entry (a YAML mapping or a CSV row) with the helpers that validate its values."""

    def __init__(self, path: str, kind: str, values: dict[str, Any], line: int | None,
                 fields: tuple[str, ...] | None = None) -> None:
        self.path, self.kind, self.values, self.line = path, kind, values, line
        allowed = fields or FIELDS[kind]
        unknown = [str(k) for k, v in values.items() if k != "__line__" and k not in allowed
                   and v not in (None, "")]
        if unknown:  # a misspelt field would otherwise be ignored silently
            raise self.fail(f"unknown field(s) {', '.join(map(repr, unknown))}; "
                            f"a {kind} entry has: {', '.join(allowed)}")

    def fail(self, problem: str) -> InputError:
        return InputError(self.path, f"{self.kind} entry: {problem}", line=self.line)

    def text(self, key: str, *, required: bool = False, lower: bool = False) -> str | None:
        value = self.values.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(f"{key!r} is required")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(f"{key!r} must be text, not {value!r} (quote it in YAML)")
        text = str(value).strip()
        if "\x00" in text:
            raise self.fail(f"{key!r} holds a NUL character (U+0000), which no study engine stores alike")
        return text.lower() if lower else text

    def name(self, key: str) -> str:
        value = self.text(key, required=True, lower=True)
        assert value is not None
        if not _NAME.match(value):
            raise self.fail(f"{key} {value!r} has characters other than a-z 0-9 . _ @ + -")
        return value

    def time(self, key: str) -> datetime | None:
        value = self.values.get(key)
        if value is None or value == "":
            return None
        try:
            return parse_time(value)
        except (TypeError, ValueError):
            raise self.fail(f"{key} {value!r} is not an ISO-8601 time (e.g. 2015-03-01T10:00:00Z)") from None


def parse_time(value: object) -> datetime:
    """An ISO-8601 time (or YAML timestamp/date) as naive UTC; a naive value is taken as UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip())
    else:
        raise TypeError(f"not a time: {value!r}")
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def read_manifest(path: str | Path) -> ManifestRecords:
    """Validated records of a YAML (.yaml/.yml) or CSV manifest; InputError names file and line."""
    path = str(path)
    entries = _csv_entries(path) if path.lower().endswith(".csv") else _yaml_entries(path)
    records = ManifestRecords([], [], [], [])
    for entry in entries:
        if entry.kind == "user":
            records.users.append(_user(entry))
        elif entry.kind == "device":
            device = _device(entry)
            records.devices.append(device)
            records.links.extend(_device_links(entry, device))
            records.leases.extend(_device_leases(entry, device))
        elif entry.kind == "link":
            records.links.append(Link(entry.name("username"), entry.name("login"), entry.line))
        elif entry.kind == "network":
            records.networks.append(_network(entry))
        else:
            records.leases.append(_lease(entry, entry.name("login")))
    return records


def _user(e: _Entry) -> User:
    country = e.text("country", lower=True)
    if country is not None and not re.fullmatch(r"[a-z]{2}", country):
        raise e.fail(f"country {country!r} is not a two-letter code (fr, uk, ...)")
    given = e.text("timezone")
    zone = timezone_of(country, given)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise e.fail(f"unknown time zone {zone!r}: use an IANA name such as Europe/Paris") from None
    start = e.time("starttime")
    window = time_window(of_study=False)  # start times define the study's window
    if start is not None and start not in window:
        raise e.fail(f"starttime: {window.outside(start)}")
    return User(e.name("username"), e.text("familyname", lower=True), country, zone,
                start, e.line, given is not None)


def _device(e: _Entry) -> Device:
    platform = e.text("platform", required=True, lower=True)
    assert platform is not None
    if platform not in PLATFORMS:
        raise e.fail(f"unknown platform {platform!r}; known platforms: {', '.join(PLATFORMS)}")
    devtype, os_name = PLATFORMS[platform]
    for key, derived, allowed in (("devtype", devtype, DEVTYPES), ("os", os_name, OSES)):
        given = e.text(key, lower=True)
        if given is not None and given != derived:
            raise e.fail(f"{key} {given!r} contradicts platform {platform!r} ({key} {derived}); "
                         f"allowed: {', '.join(allowed)}")
    return Device(e.name("login"), e.text("name"), platform, devtype, os_name, e.line)


def _device_links(e: _Entry, device: Device) -> list[Link]:
    users = e.values.get("users") or []
    if isinstance(users, str):
        users = [users]
    if not isinstance(users, list):
        raise e.fail("'users' must be a list of usernames")
    return [Link(_Entry(e.path, "link", {"username": u}, e.line).name("username"), device.login, e.line)
            for u in users]


def _device_leases(e: _Entry, device: Device) -> list[Lease]:
    addresses = e.values.get("addresses") or []
    if not isinstance(addresses, list):
        raise e.fail("'addresses' must be a list of addresses or of {address, valid_from, valid_to}")
    leases = []
    for item in addresses:
        values = item if isinstance(item, dict) else {"address": item}
        line = values.get("__line__", e.line)
        sub = _Entry(e.path, "lease", values, line, ("address", "valid_from", "valid_to"))
        leases.append(_lease(sub, device.login))
    return leases


def _lease(e: _Entry, login: str) -> Lease:
    text = e.text("address", required=True)
    assert text is not None
    try:
        address = str(ipaddress.ip_address(text))
    except ValueError:
        raise e.fail(f"address {text!r} is not an IPv4 or IPv6 address") from None
    valid_from, valid_to = e.time("valid_from"), e.time("valid_to")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise e.fail(f"lease of {address} ends ({valid_to}) before it starts ({valid_from})")
    return Lease(login, address, valid_from, valid_to, e.line)


def _network(e: _Entry) -> Network:
    values = {}
    for key, allowed in (("network_type", NETWORK_TYPES), ("access_type", ACCESS_TYPES)):
        values[key] = e.text(key, required=key == "network_type", lower=True)
        if values[key] is not None and values[key] not in allowed:
            raise e.fail(f"{key} {values[key]!r} is not one of {', '.join(allowed)}")
    valid_from, valid_to = e.time("valid_from"), e.time("valid_to")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise e.fail(f"network ends ({valid_to}) before it starts ({valid_from})")
    return Network(e.name("login"), str(values["network_type"]), values["access_type"],
                   e.text("name"), valid_from, valid_to, e.line)


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that records the line of every mapping under '__line__'."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)
# times stay text, so that a bad one is reported by parse_time with its entry's line
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_entries(path: str) -> list[_Entry]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise InputError(path, f"not valid YAML: {exc.problem}", line=line) from None
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError, TypeError, OverflowError) as exc:
        raise InputError(path, f"not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(path, "a manifest is a mapping with sections users, devices, links, leases")
    unknown = sorted(str(k) for k in doc if k not in SECTIONS and k != "__line__")
    if unknown:
        raise InputError(path, f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    entries = []
    for section, kind in SECTIONS.items():
        items = doc.get(section) or []
        if not isinstance(items, list):
            raise InputError(path, f"section {section!r} must be a list of entries")
        for item in items:
            if not isinstance(item, dict):
                raise InputError(path, f"section {section!r}: entry {item!r} is not a mapping")
            entries.append(_Entry(path, kind, item, item.get("__line__")))
    return entries


def _csv_entries(path: str) -> list[_Entry]:
    entries = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:  # -sig: spreadsheets write a BOM
            reader = csv.DictReader(f)
            if not reader.fieldnames or "kind" not in reader.fieldnames:
                raise InputError(path, "a CSV manifest needs a header with a 'kind' column "
                                       "(user, device, link, lease or network)", line=1)
            unknown = [c for c in reader.fieldnames if c != "kind" and c not in ALL_FIELDS]
            if unknown:
                raise InputError(path, f"unknown column(s) {', '.join(map(repr, unknown))}; "
                                       f"columns: kind, {', '.join(ALL_FIELDS)}", line=1)
            for row in reader:
                line = reader.line_num
                kind = (row.get("kind") or "").strip().lower()
                if kind not in SECTIONS.values():
                    raise InputError(path, f"kind {kind!r} is not user, device, link, lease or network",
                                     line=line)
                if any(v not in (None, "") for v in row.get(None) or ()):  # type: ignore[call-overload]
                    raise InputError(path, "more cells than header columns", line=line)
                values = {k: v for k, v in row.items() if k is not None and k != "kind"}
                if values.get("users"):
                    values["users"] = values["users"].split()
                entries.append(_Entry(path, kind, values, line))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"not a readable CSV file: {exc}") from None
    return entries
