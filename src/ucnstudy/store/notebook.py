"""The notebook API's methods of `Study` (docs/api.md): thin calls into `ucnstudy.api`.

`ucnstudy.api` is the top layer (it imports analyses, plots and inference); these methods import
it when called, so that a notebook needs one object and the store never imports upward at load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class NotebookMethods:
    """Mixed into Study: analyze, figure, figures, evaluate, sql and the Jupyter summary."""

    engine: Any

    def analyze(self, name: str, *, engine: str = "pandas", **params: Any) -> Any:
        """Run the analysis `name` and return its table as a pandas DataFrame (`engine="arrow"`:
        a pyarrow Table, ready for `polars.from_arrow`).

        `params` are the analysis's parameters, the same names as `ucn analyze NAME --help`
        shows with '_' for '-' (`gap=300`, `users=["alice", "bob"]`); `ucnstudy.analyses()`
        lists the analyses and `print(ucnstudy.analyses()["activities"])` one's parameters with
        their defaults and meaning. An unknown name or a wrong type raises ParameterError,
        which lists the valid parameters.
        """
        from ucnstudy import api

        return api.analyze(self, name, engine, **params)  # type: ignore[arg-type]

    def figure(self, name: str, *, user: str | None = None, which: str | None = None,
               **params: Any) -> Any:
        """A matplotlib Figure of the analysis `name`, drawn by the report's builder: the first one
        for `user` (or the first overall), or the one whose name starts with `which`; `params`
        as for `analyze`. Jupyter shows it inline."""
        from ucnstudy import api

        return api.figure(self, name, user, which, **params)

    def figures(self, name: str, *, users: list[str] | None = None, **params: Any) -> list[Any]:
        """Every figure of the analysis `name` (NamedFigure: .name, .title, .figure, .caption)."""
        from ucnstudy import api

        return api.figures(self, name, users, **params)

    def evaluate(self, **params: Any) -> Any:
        """Detected activity against the ground truth (an Evaluation), with `ucn evaluate`'s
        options as keywords (`gap=300`, `sweeps=True`, `windows=(0, 5)`)."""
        from ucnstudy import api

        return api.evaluate(self, **params)

    def sql(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        """Run one read-only SQL query on the study's engine; a pandas DataFrame.

        Values go in `params`, bound by the engine, never formatted into the text: `?` or
        `$name` placeholders on DuckDB, `%s` or `%(name)s` on PostgreSQL, `:name` on Spark.
        Anything but a single query (SELECT, WITH ..., VALUES) raises StudyError.
        """
        return self.engine.read_sql(query, params)  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        from ucnstudy.display import study_html
        from ucnstudy.info import study_info

        return study_html(study_info(self), self.engine.name)
