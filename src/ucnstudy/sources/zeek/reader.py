"""Zeek logs, TSV or JSON, into one record type: a dict of the fields a table needs.

TSV: the `#fields` header names the columns (a file may hold several header blocks); `-` is
unset, `(empty)` an empty set, `,` separates set/vector items, `\\xHH` escapes bytes.
JSON: one object per line, with flat ("id.orig_h") or nested ({"id": {"orig_h"}}) names; `ts`
is epoch seconds or an ISO 8601 string. Columns a table does not need, such as the labels of
the CTU datasets, are ignored; missing optional columns become None.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from ucnstudy.errors import InputError
from ucnstudy.sources.logfiles import NUL_LINE, numbered_lines, valid_epoch
from ucnstudy.sources.timewindow import time_window

Record = dict[str, Any]
Converter = Callable[[Any], Any]
_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "\\x" in text else text


def _epoch(value: Any) -> str:
    """Epoch seconds as decimal text (exact for TSV; JSON numbers via their shortest repr)."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        text = f"{value:.6f}"
    else:
        text = str(value)
        if "T" in text:  # ISO 8601 (Zeek's use_json_iso8601)
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            text = f"{(parsed - datetime(1970, 1, 1)).total_seconds():.6f}"
    if not valid_epoch(text):
        raise ValueError(f"not a time: {value!r}")
    return text


def _int(value: Any, bits: int = 64) -> int:
    if type(value) is str and len(value) <= 9 and value.isdigit() and value.isascii():
        return int(value)  # the common case: a small decimal count from a TSV log
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"not a count: {value!r}")
    number = int(value)
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise ValueError(f"count out of range: {value!r}")
    return number


def _int32(value: Any) -> int:
    return _int(value, 32)


def _float(value: Any) -> float:
    """Seconds (durations, RTTs, TTLs): finite, non-negative, under ~30 years."""
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    number = float(value)
    if not 0 <= number < 1e9:
        raise ValueError(f"not a duration in seconds: {value!r}")
    return number


def _vector(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(_text(v)) for v in value]
    if value in ("(empty)", ""):
        return []
    return [str(_text(v)) for v in str(value).split(",")]


def _float_vector(value: Any) -> list[float | None]:
    return [None if v in ("-", "") else _float(v) for v in _vector(value)]


KINDS: dict[str, Converter] = {"str": _text, "time": _epoch, "int": _int, "int32": _int32, "float": _float,
                               "vector": _vector, "floats": _float_vector}
COMMON = {"ts": "time", "uid": "str", "id.orig_h": "str", "id.orig_p": "int32", "id.resp_h": "str",
          "id.resp_p": "int32"}
REQUIRED = ("ts", "id.orig_h", "id.resp_h")
FIELDS: dict[str, dict[str, str]] = {
    "conn": {**COMMON, "proto": "str", "duration": "float", "orig_pkts": "int", "orig_ip_bytes": "int",
             "resp_pkts": "int", "resp_ip_bytes": "int", "orig_bytes": "int", "resp_bytes": "int",
             "history": "str"},
    "dns": {**COMMON, "proto": "str", "query": "str", "qtype": "int32", "rtt": "float", "answers": "vector",
            "TTLs": "floats"},
    "http": {**COMMON, "method": "str", "host": "str", "uri": "str", "referrer": "str", "user_agent": "str",
             "status_code": "int32", "response_body_len": "int", "resp_mime_types": "vector"},
    "ssl": {**COMMON, "server_name": "str"},
}


def log_type_of_name(path: str) -> str | None:
    """conn / dns / http / ssl from a file name such as conn.log, dns.12:00:00.log.gz, ssl.log.labeled."""
    stem = os.path.basename(path).split(".", 1)[0].lower()
    return stem if stem in FIELDS else None


# per log type: (name, kind, converter, required, "(empty)" is a value rather than unset)
_PLANS = {log: [(name, kind, KINDS[kind], name in REQUIRED, kind in ("vector", "floats"))
                for name, kind in fields.items()] for log, fields in FIELDS.items()}


def convert(raw: dict[str, Any], log_type: str) -> Record:
    """One record from raw field values (TSV strings or JSON values); ValueError when malformed."""
    record: Record = {}
    for name, kind, converter, required, is_set in _PLANS[log_type]:
        value = raw.get(name)
        if value is None or value == "-" or (value == "(empty)" and not is_set):
            if required:
                raise ValueError(f"required field {name!r} is missing or unset")
            record[name] = None
            continue
        try:
            record[name] = converter(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"field {name!r}: {str(value)[:60]!r} is not a valid {kind}") from None
    return record


def _json_fields(text: str) -> dict[str, Any]:
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise ValueError("a JSON log line must be an object")
    nested = obj.get("id")
    if isinstance(nested, dict):
        obj.update({f"id.{k}": v for k, v in nested.items()})
    return obj


class ZeekReader:
    """Records of one log file with their line numbers; malformed lines go to `problem`."""

    def __init__(self, path: str, problem: Callable[..., None]) -> None:
        self.path, self.problem = path, problem
        self.log_type: str | None = log_type_of_name(path)
        self._fields: list[str] | None = None
        self._window = time_window()

    def records(self) -> Iterator[tuple[int, Record]]:
        for number, text in numbered_lines(self.path, lambda msg, line: self.problem(msg, line=line)):
            if not text.strip():
                continue
            if "\x00" in text:
                self.problem(NUL_LINE, line=number)
                continue
            if text.startswith("#"):
                self._header(text, number)
                continue
            try:
                raw = self._raw(text)
                if self.log_type is None:
                    raise InputError(self.path, "unknown Zeek log type: name the file conn/dns/http/ssl.log "
                                                "or give it a #path header or _path field")
                record = convert(raw, self.log_type)
            except (ValueError, RecursionError) as exc:
                self.problem(f"malformed Zeek {self.log_type or ''} record: {exc}", line=number)
                continue
            if self._in_window(record, number):
                yield number, record

    def _in_window(self, record: Record, number: int) -> bool:
        lo, hi = self._window.epoch_seconds()
        seconds = float(record["ts"])
        if lo <= seconds <= hi:
            return True
        self.problem(self._window.outside_epoch(seconds), line=number)
        return False

    def _header(self, text: str, number: int) -> None:
        key, _, value = text.partition("\t")
        if key == "#fields":
            self._fields = value.split("\t")
            missing = [f for f in REQUIRED if f not in self._fields]
            if missing:
                raise InputError(self.path, f"the #fields header lacks {', '.join(missing)}", line=number)
        elif key == "#path" and value.strip() in FIELDS:
            self.log_type = value.strip()

    def _raw(self, text: str) -> dict[str, Any]:
        if text.lstrip().startswith("{"):
            raw = _json_fields(text)
            path = raw.get("_path")
            if isinstance(path, str) and path in FIELDS:
                self.log_type = path
            return raw
        if self._fields is None:
            raise ValueError("a TSV record before the #fields header")
        values = text.split("\t")
        if len(values) != len(self._fields):
            raise ValueError(f"{len(values)} fields where the #fields header names {len(self._fields)}")
        wanted = FIELDS.get(self.log_type or "", {})
        return {name: value for name, value in zip(self._fields, values, strict=True) if name in wanted}
