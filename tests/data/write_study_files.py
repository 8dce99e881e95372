"""Write tests/data/study-v<SCHEMA_VERSION>.duckdb.gz: a small study written by the current code.

Gzipped: DuckDB gives each table and index blocks of its own (9 MB for these few rows, 75 kB
compressed).

Run from the repository root when SCHEMA_VERSION changes (and keep the older files): the tests
open every committed study file with the current code, upgrading the older ones
(tests/test_schema_versions.py). `PYTHONPATH=src:tests python tests/data/write_study_files.py`
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path

from handmade_study import canonical_tables, load
from ucnstudy import open_study
from ucnstudy.schema import SCHEMA_VERSION


def main() -> Path:
    target = Path(__file__).parent / f"study-v{SCHEMA_VERSION}.duckdb.gz"
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "study.duckdb"
        with open_study(path) as study:
            study.create_schema()
            load(study, canonical_tables(days=1))
        with path.open("rb") as raw, gzip.open(target, "wb", compresslevel=9) as out:
            shutil.copyfileobj(raw, out)
    return target


if __name__ == "__main__":
    print(main())
