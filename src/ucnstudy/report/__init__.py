"""The self-contained HTML study report: `build_report(study, out_dir, options)`.

Names resolve on first use, so that `ucn report --help` loads neither matplotlib nor Jinja.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ucnstudy.report.options import ReportOptions

if TYPE_CHECKING:
    from ucnstudy.report.assemble import ReportResult, build_report
    from ucnstudy.report.sections import Section, SectionContent, register_section

__all__ = ["ReportOptions", "ReportResult", "Section", "SectionContent", "build_report", "register_section"]


def __getattr__(name: str) -> Any:
    if name in ("ReportResult", "build_report"):
        from ucnstudy.report import assemble

        return getattr(assemble, name)
    if name in ("Section", "SectionContent", "register_section"):
        from ucnstudy.report import sections

        return getattr(sections, name)
    raise AttributeError(f"module 'ucnstudy.report' has no attribute {name!r}")
