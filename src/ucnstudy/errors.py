"""Typed errors raised by library code; the CLI turns each into one clear message."""

from __future__ import annotations


class UcnError(Exception):
    """Base of every error ucnstudy raises on purpose (bad input, bad URL, ...)."""


class InputError(UcnError):
    """A file cannot be read as the format it claims: names the file, the place and the problem."""

    def __init__(self, path: object, problem: str, *, line: int | None = None, row: int | None = None,
                 column: str | None = None, packet: int | None = None) -> None:
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if row is not None:
            where += f", row {row}"
        if packet is not None:
            where += f", packet {packet}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.problem = problem
        self.path, self.line, self.row, self.column, self.packet = path, line, row, column, packet


class StudyError(UcnError):
    """The study database cannot do what was asked (bad URL, missing table, read-only...)."""
