"""Anonymised export: a shareable copy of a study whose analyses give the same answers.

A layer over store/: keys and pseudonyms (keys.py), addresses with Crypto-PAn (addresses.py),
URLs, user agents, DNS and app names by level (text.py, levels.py), locations (places.py), the
time shift (times.py), the per-table per-column policy (policy.py), the export driver
(export.py, sinks.py) and the manifest (manifest.py). See docs/privacy.md.

The export's names load their module on first use, so that `ucn info` and every analysis can
ask `privacy.manifest` whether a study lost a field without loading the export's libraries.
"""

from __future__ import annotations

from typing import Any

from ucnstudy.privacy.keys import KeyFileError, StudyKey, load_key
from ucnstudy.privacy.levels import PRESETS, Levels, levels
from ucnstudy.privacy.manifest import privacy_manifest, require_fields

__all__ = ["PRESETS", "AnonymizedExport", "KeyFileError", "Levels", "StudyKey",
           "export_anonymized", "levels", "load_key", "privacy_manifest", "require_fields"]


def __getattr__(name: str) -> Any:
    if name in ("AnonymizedExport", "export_anonymized"):
        from ucnstudy.privacy import export

        return getattr(export, name)
    raise AttributeError(f"module 'ucnstudy.privacy' has no attribute {name!r}")
