"""What importing the command line loads: facts, not timings (`benchmarks/bench_cli.py` times it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("matplotlib", "pyspark", "sklearn", "ibis", "pandas", "pyarrow", "duckdb", "scipy", "ua_parser")


def loaded_after(statement: str) -> list[str]:
    """The HEAVY modules in sys.modules after `statement`, in a fresh interpreter."""
    report = f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    code = f"import json, sys\n{statement}\n{report}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC), "PATH": ""})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_library():
    assert loaded_after("import ucnstudy.cli") == []


def test_help_of_every_command_loads_no_heavy_library():
    from ucnstudy.cli import app

    groups = {g.name: g.typer_instance for g in app.registered_groups}
    commands = [[c.name or c.callback.__name__] for c in app.registered_commands]
    commands += [[name, c.name or c.callback.__name__] for name, sub in groups.items()
                 for c in sub.registered_commands]
    assert ["analyze", "activities"] in commands and ["evaluate"] in commands
    every = [[*argv, "--help"] for argv in [[], *commands]]  # one process: modules accumulate
    run = f"from ucnstudy.cli import main\nfor argv in {every!r}:\n    assert main(argv) == 0, argv"
    assert loaded_after(run) == []


def test_the_analysis_registry_and_parameters_load_no_heavy_library():
    listing = "import ucnstudy\nucnstudy.analyses()\nucnstudy.analyses()['activities']"
    assert loaded_after(listing) == []
    params = ("from ucnstudy.inference.params import EvaluationParams\n"
              "from ucnstudy.report import ReportOptions")
    assert loaded_after(params) == []
    assert loaded_after("import ucnstudy\nucnstudy.open(':memory:')") != []  # opening a study does


def test_ucn_info_loads_neither_ibis_nor_pyarrow(tmp_path: Path):
    """`ucn info` answers from two SQL queries on the engine's own connection (and the privacy
    manifest and schema version are read the same way)."""
    from ucnstudy import open_study

    path = tmp_path / "s.duckdb"
    with open_study(path) as study:
        study.create_schema()
    run = f"from ucnstudy.cli import main\nassert main(['--db', {str(path)!r}, 'info']) == 0"
    assert [m for m in loaded_after(run) if m != "duckdb"] == []


def test_import_pcap_into_duckdb_loads_no_ibis(tmp_path: Path) -> None:
    """`ucn import pcap` (lookups, parse, load, enrichment) never needs Ibis on DuckDB: about a
    third of a second of every import's start (docs/inputs/pcap.md "Speed")."""
    sys.path.insert(0, str(Path(__file__).parent))
    from pcap_helpers import add_device, udp, write_pcap
    from ucnstudy import open_study

    db = tmp_path / "study.duckdb"
    with open_study(db) as study:
        study.create_schema()
        add_device(study, "alice.laptop", 1, leases=[("10.0.0.2", None, None)])
    capture = write_pcap(tmp_path / "a.pcap", [(1_420_000_000.0 + i, udp("10.0.0.2", "8.8.8.8", 5000, 53))
                                               for i in range(3)])
    run = (f"from ucnstudy.cli import main\n"
           f"assert main(['--db', {str(db)!r}, 'import', 'pcap', '--device', 'alice.laptop', "
           f"{str(capture)!r}]) == 0")
    assert "ibis" not in loaded_after(run)


def test_ucn_import_pcap_does_not_load_pandas(tmp_path: Path):
    """DuckDB would import pandas to ask whether each parameter or Arrow table is a DataFrame
    (store/nopandas.py); the import and its enrichment run without it, and load the rows."""
    import duckdb

    from pcap_helpers import add_device, dns_query, dns_response, rr_a, udp, write_pcap
    from ucnstudy import open_study

    path = tmp_path / "s.duckdb"
    with open_study(path) as study:
        study.create_schema()
        add_device(study, "alice.laptop", leases=[("10.0.0.2", None, None)])
    capture = write_pcap(tmp_path / "day.pcap", [
        (1_700_000_000.0, udp("10.0.0.2", "8.8.8.8", 5353, 53, dns_query("example.org", 7))),
        (1_700_000_000.1, udp("8.8.8.8", "10.0.0.2", 53, 5353,
                  dns_response("example.org", 7, [rr_a("example.org", "93.184.216.34", 60)])))])
    argv = ["--db", str(path), "import", "pcap", "--device", "alice.laptop", str(capture)]
    run = f"from ucnstudy.cli import main\nassert main({argv!r}) == 0"
    assert "pandas" not in loaded_after(run)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT query, query_domain FROM dnsreqs").fetchall() == [
            ("example.org", "example.org")]


def test_each_command_is_built_from_the_module_the_table_names():
    """`ucn NAME` builds only COMMANDS[NAME]'s module: each module must register exactly the
    names the table gives it, and together every command of the whole application."""
    from ucnstudy.cli import COMMANDS, app, build_app, command_name

    def names(typer_app) -> set[str]:
        return ({c.name or c.callback.__name__ for c in typer_app.registered_commands}
                | {g.name for g in typer_app.registered_groups})

    for module in set(COMMANDS.values()):
        assert names(build_app([module])) == {n for n, m in COMMANDS.items() if m == module}, module
    assert names(app) == set(COMMANDS)
    for _ in range(2):  # building again (tests, docs) must not register a sub-command twice
        for group in build_app().registered_groups:
            subs = [c.name for c in group.typer_instance.registered_commands]
            assert len(subs) == len(set(subs)), (group.name, subs)
    assert command_name(["--db", "analyze", "analyze", "activities"]) == "analyze"
    assert command_name(["--db=x.duckdb", "--help"]) is None
    assert command_name(["import", "pcap", "--device", "d", "f.pcap"]) == "import"
