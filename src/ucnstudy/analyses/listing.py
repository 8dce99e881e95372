"""`ucnstudy.analyses()`: the registered analyses, one line each, as text or as an HTML table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ucnstudy.analyses.registry import Analysis


@dataclass(frozen=True)
class Listing:
    """(name, summary, parameter names) per analysis; iterates over the names."""

    rows: tuple[tuple[str, str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, analyses: Iterable[Analysis]) -> Listing:
        rows = sorted((a.name, a.summary, tuple(p.name for p in a.parameters())) for a in analyses)
        return cls(tuple(rows))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(name for name, _, _ in self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, name: str) -> AnalysisHelp:
        """`ucnstudy.analyses()["activities"]`: its docstring and parameters (print or display it)."""
        from ucnstudy.analyses.registry import get

        return AnalysisHelp(get(name).help())

    def __contains__(self, name: object) -> bool:
        return any(name == n for n, _, _ in self.rows)

    def __repr__(self) -> str:
        width = max((len(n) for n, _, _ in self.rows), default=0)
        return "\n".join(f"{n:<{width}}  {summary}" for n, summary, _ in self.rows)

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><td><code>{escape(n)}</code></td><td>{escape(s)}</td>"
                       f"<td>{escape(', '.join(p))}</td></tr>" for n, s, p in self.rows)
        return ("<table><thead><tr><th>analysis</th><th>what it computes</th><th>parameters</th>"
                f"</tr></thead><tbody>{body}</tbody></table>")


@dataclass(frozen=True)
class AnalysisHelp:
    text: str

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<pre>{escape(self.text)}</pre>"
