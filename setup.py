"""Build the compiled extensions (the pcap record walk, header decoding and per-flow TCP scan);
everything else is in pyproject.toml.

Both are optional: without a C compiler the install still succeeds and the importer uses the
same definitions in Python and numpy (slower).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(f"ucnstudy.sources.pcap.{name}", [f"src/ucnstudy/sources/pcap/{name}.pyx"], optional=True)
    for name in ("_walk", "_decode", "_tcpscan")
]
setup(ext_modules=cythonize(extensions, quiet=True))
