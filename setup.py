"""Build the one compiled extension (the pcap record walk); everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and the importer
uses the same loop in Python (slower).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

extension = Extension("ucnstudy.sources.pcap._walk", ["src/ucnstudy/sources/pcap/_walk.pyx"], optional=True)
setup(ext_modules=cythonize([extension], quiet=True))
