"""What `build_report` can be told: a plain dataclass, so that `ucn report` generates its options
from it (`ucnstudy.cli.options`) without loading the report's libraries."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReportOptions:
    dpi: int = field(default=100, metadata={"help": "resolution of the PNG figures"})
    preview_rows: int = field(default=20, metadata={"help": "rows of each table shown in the HTML"})
    focus: str = field(default="selected", metadata={
        "help": "users with per-user figures: 'selected' (select-users), 'all', or comma-separated names"})
    detail_users: int = field(default=1, metadata={
        "help": "how many focus users also get their detailed per-user figures (every focus user "
                "is in one small-multiples figure per analysis, every user in the CSV tables)"})
    svg: bool = field(default=False, metadata={
        "help": "also save each figure as SVG (a second drawing of every figure)"})
    workers: int = field(default=0, metadata={
        "help": "processes drawing figures while the next analyses run (0: draw in this process; "
                "more needs the usual `if __name__ == '__main__':` guard of a calling script)"})
    only: str = field(default="", metadata={
        "help": "comma-separated section keys to build (default: every section)"})
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # analysis -> field -> value
