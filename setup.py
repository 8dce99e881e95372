"""Build the compiled extensions; everything else is in pyproject.toml.

Two kinds, both optional (without a C compiler the install still succeeds and the importer runs
the same definitions in Python and numpy, slower):
- the typed loops of the pcap importer (`_walk.pyx`, `_decode.pyx`, `_tcpscan.pyx`) and typed
  twins of its hottest per-packet Python (`_httphead.pyx`), each checked against its Python
  reference by differential tests;
- the pcap importer's plain Python modules on the per-packet path (payload inspection, DNS,
  HTTP, TLS, rows), compiled unchanged by Cython: the same code without the interpreter's
  dispatch, 10-20% of `ucn import pcap` (docs/performance.md). An extension module is imported
  in preference to the .py beside it, so after editing one of these run `make ext` (make test
  does); tests/test_compiled_fresh.py fails when a compiled module is older than its source.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

PCAP = "src/ucnstudy/sources/pcap"
TYPED = ("_walk", "_decode", "_tcpscan", "_httphead")
PLAIN = ("payloads", "http", "dns", "tls", "tcpstream", "rows", "capture", "flows", "counters",
         "decode", "tcpperf", "device")

typed = [Extension(f"ucnstudy.sources.pcap.{n}", [f"{PCAP}/{n}.pyx"], optional=True) for n in TYPED]
plain = [Extension(f"ucnstudy.sources.pcap.{n}", [f"{PCAP}/{n}.py"], optional=True) for n in PLAIN]
# annotation_typing off: type hints stay hints, so the compiled module behaves as the .py does
# (an `int` hint would otherwise reject numpy integers)
directives = {"language_level": 3, "annotation_typing": False}
setup(ext_modules=cythonize(typed, quiet=True) + cythonize(plain, quiet=True, compiler_directives=directives))
