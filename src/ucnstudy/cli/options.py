"""Typer options generated from a parameter dataclass (`ucnstudy.params`), one per leaf field.

`ucn analyze NAME`, `ucn evaluate` and `ucn report` build their options here, and the Python API
builds its keyword arguments from the same fields, so the two cannot drift: an option is
`--` + the field name with '-' for '_' (or the field's `metadata["option"]`), typed as the field,
with the field's default and help. Tuples of numbers are comma-separated strings on the command
line; tuples of strings are repeatable options.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Any

import typer

from ucnstudy.errors import UcnError
from ucnstudy.params import Param, build, fields_of


def option_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def cli_parameters(cls: type, defaults: dict[str, Any] | None = None,
                   exclude: Sequence[str] = ()) -> list[inspect.Parameter]:
    """Keyword-only parameters, one per leaf field of `cls` (but `exclude`), for a Typer command;
    `defaults` replaces a field's default where the command line has its own (e.g. workers)."""
    out = []
    for p in fields_of(cls):
        if p.name in exclude:
            continue
        default = (defaults or {}).get(p.name, p.default)
        annotation, default = _cli_type(p, default)
        bounds = {"min": p.minimum} if p.minimum is not None else {}
        option = typer.Option(default, _flag(p), help=p.help, **bounds)
        out.append(inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                     annotation=annotation))
    return out


def _flag(p: Param) -> str:
    if p.annotation is bool and p.default is True:
        return f"{p.option}/--no-{p.option[2:]}"
    return p.option


def _cli_type(p: Param, default: Any) -> tuple[Any, Any]:
    if typing.get_origin(p.annotation) is tuple:
        item = typing.get_args(p.annotation)[0]
        if item is str:
            return list[str], list(default)
        return str, ",".join(str(v) for v in default)
    return p.annotation, default


def from_cli(cls: type, values: dict[str, Any], what: str) -> Any:
    """The dataclass from parsed option values (comma-separated tuples split and converted)."""
    params = {p.name: p for p in fields_of(cls)}
    converted = {name: _from_text(params[name], value) for name, value in values.items()}
    return build(cls, converted, what)


def _from_text(p: Param, value: Any) -> Any:
    if typing.get_origin(p.annotation) is not tuple or not isinstance(value, str):
        return tuple(value) if isinstance(value, list) else value
    item = typing.get_args(p.annotation)[0]
    try:
        return tuple(item(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise UcnError(f"{p.option} takes comma-separated {item.__name__}s, not {value!r}") from None


def command_with(params: Sequence[inspect.Parameter], body: Callable[..., None], name: str,
                 doc: str | None = None) -> Callable[..., None]:
    """`body(**options)` as a Typer command with exactly these keyword-only parameters."""

    def command(**kwargs: Any) -> None:
        body(**kwargs)

    command.__signature__ = inspect.Signature(list(params))  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = name.replace("-", "_")
    command.__doc__ = doc
    return command


def option(name: str, annotation: Any, default: Any, *flags: str, **kwargs: Any) -> inspect.Parameter:
    """One hand-written option (output format, file...) next to the generated ones."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                             default=typer.Option(default, *(flags or (option_name(name),)), **kwargs))
