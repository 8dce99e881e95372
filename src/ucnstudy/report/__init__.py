"""The self-contained HTML study report: `build_report(study, out_dir, options)`."""

from ucnstudy.report.assemble import ReportOptions, ReportResult, build_report
from ucnstudy.report.sections import Section, SectionContent, register_section

__all__ = ["ReportOptions", "ReportResult", "Section", "SectionContent", "build_report", "register_section"]
