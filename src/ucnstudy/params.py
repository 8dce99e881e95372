"""Parameter dataclasses as the one description of what a command or an API call takes.

An analysis, the evaluation and the report each declare a frozen dataclass whose fields carry a
default (the original study's value) and `metadata={"help": ...}`. This module reads them for
both front ends: `fields_of` flattens nested dataclasses (the evaluation's `ground_truth` and
`ucn` groups) into `Param`s, the CLI turns each into one option, and `build` turns Python
keyword arguments into an instance, checking names and types with an error that lists the valid
parameters. It imports nothing heavy, so the command line can describe every command at once.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any

from ucnstudy.errors import UcnError


class ParameterError(UcnError, TypeError):
    """A parameter name or value that the analysis (or command) does not take."""


@dataclass(frozen=True)
class Param:
    """One leaf field of a (possibly nested) parameter dataclass."""

    name: str  # the API keyword and, with '-' for '_', the CLI option (`--min-events`)
    path: tuple[str, ...]  # attribute path from the top dataclass, e.g. ("ucn", "gap")
    annotation: Any
    default: Any
    help: str
    option: str  # the CLI option name
    minimum: float | None = None  # metadata["min"]: the smallest value accepted

    @property
    def choices(self) -> tuple[Any, ...]:
        literal = typing.get_origin(self.annotation) is typing.Literal
        return typing.get_args(self.annotation) if literal else ()

    def describe(self) -> str:
        """`name: type = default  help`, as help() and the error messages show it."""
        return f"{self.name}: {type_name(self.annotation)} = {self.default!r}  ({self.help})"


def type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(repr(c) for c in typing.get_args(annotation))
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def fields_of(cls: type, prefix: tuple[str, ...] = ()) -> list[Param]:
    """The leaf parameters of `cls`, nested dataclass fields flattened in declaration order."""
    hints = typing.get_type_hints(cls)
    out: list[Param] = []
    for f in dataclasses.fields(cls):
        annotation = hints[f.name]
        if dataclasses.is_dataclass(annotation):
            out += fields_of(annotation, (*prefix, f.name))  # type: ignore[arg-type]
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        option = f.metadata.get("option", "--" + f.name.replace("_", "-"))
        out.append(Param(f.name, (*prefix, f.name), annotation, default, f.metadata.get("help", ""), option,
                         f.metadata.get("min")))
    return out


def signature_text(cls: type) -> str:
    """Every parameter, one per line (for docstrings, help() and error messages)."""
    return "\n".join("  " + p.describe() for p in fields_of(cls))


def build(cls: type, values: dict[str, Any], what: str) -> Any:
    """An instance of `cls` from keyword values (leaf names), each checked against its type."""
    params = {p.name: p for p in fields_of(cls)}
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise ParameterError(f"{what} has no parameter {unknown[0]!r}; its parameters are:\n"
                             + signature_text(cls))
    try:
        checked = {name: coerce(params[name], value) for name, value in values.items()}
    except ParameterError as exc:
        raise ParameterError(f"{what}: {exc}; its parameters are:\n" + signature_text(cls)) from None
    return _assemble(cls, checked)


def _assemble(cls: type, values: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            kwargs[f.name] = _assemble(hints[f.name], values)
        elif f.name in values:
            kwargs[f.name] = values[f.name]
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # a dataclass's own checks
        raise ParameterError(str(exc)) from None


def coerce(param: Param, value: Any) -> Any:
    """`value` as the parameter's type, or a ParameterError naming the expected type."""
    ann = param.annotation
    if param.choices:
        if value in param.choices:
            return value
    elif _optional(ann) is not None and value is None:
        return None
    else:
        kind = _optional(ann) or ann
        ok = _convert(kind, value)
        if ok is not _BAD and param.minimum is not None and ok < param.minimum:
            raise ParameterError(f"parameter {param.name!r} must be at least {param.minimum}, not {value!r}")
        if ok is not _BAD:
            return ok
    raise ParameterError(f"parameter {param.name!r} takes {type_name(ann)}, not {value!r}")


_BAD = object()


def _optional(annotation: Any) -> Any:
    """T for `T | None`, else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and type(None) in typing.get_args(annotation):
            return args[0]
    return None


def _convert(kind: Any, value: Any) -> Any:
    if kind is bool:
        return value if isinstance(value, bool) else _BAD
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _BAD
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else _BAD
    if kind is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return ",".join(value)  # comma-separated parameters (users, focus...) take lists too
        return _BAD
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        items = value.split(",") if isinstance(value, str) and item is str else value
        if isinstance(items, (list, tuple)):
            converted = [_convert(item, v) for v in items]
            if all(c is not _BAD for c in converted):
                return tuple(converted)
        return _BAD
    return value
