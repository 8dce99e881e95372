"""A compiled pcap module shadows the source beside it (setup.py): after an edit, the tests would
run the old code until it is rebuilt. This fails instead, naming the command that rebuilds."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import ucnstudy.sources.pcap as pcap


def test_every_compiled_module_is_newer_than_its_source() -> None:
    stale = []
    for info in pkgutil.iter_modules(pcap.__path__):
        module = importlib.import_module(f"{pcap.__name__}.{info.name}")
        compiled = Path(module.__file__ or "")
        if compiled.suffix != ".so":
            continue
        base = compiled.parent / compiled.name.split(".")[0]
        sources = [p for p in (base.with_suffix(".py"), base.with_suffix(".pyx")) if p.exists()]
        assert sources, f"{compiled.name}: no source beside it"
        if any(s.stat().st_mtime > compiled.stat().st_mtime for s in sources):
            stale.append(compiled.name)
    assert not stale, f"compiled modules older than their source: {stale}; run `make ext`"
