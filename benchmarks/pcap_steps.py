"""`ucn import pcap` as a whole process, with the time of each step: `python -m
benchmarks.pcap_steps MARKS_JSON ucn-arguments...` runs the CLI's own `main` with light
wrappers that write, to MARKS_JSON, when each step ended (time.time(); the caller knows when it
launched the process):

  start   process launch -> the command begins (interpreter, ucnstudy.cli, the pcap command)
  parse   the capture stages (read, decode, count, payloads, TCP scan, Arrow rows), including
          any wait for the loader thread when it falls behind
  load    the loader thread finishing the last chunks after the parse ended
  commit  digest check and transaction commit
  enrich  the enrichment pass run after the load (`ucn enrich`)
  summary the end of enrichment -> the end of main (the result lines)
  exit    the end of main -> process exit (`ucn` skips the interpreter's teardown: cli.run)
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def main() -> None:
    marks_path, args = sys.argv[1], sys.argv[2:]
    from ucnstudy.cli import exit_now
    from ucnstudy.cli import main as ucn_main
    from ucnstudy.cli.importers import pcap as command
    from ucnstudy.sources import pcap as pcap_source
    from ucnstudy.store import Study
    from ucnstudy.store.background import BackgroundLoad

    marks: dict[str, float] = {"start": time.time()}
    parser_of = pcap_source.pcap_parser  # the command imports it from there when it runs

    def timed_parser(*a: object, **k: object):  # type: ignore[no-untyped-def]
        parse = parser_of(*a, **k)

        def run(path: str, ctx: object) -> Iterator[object]:
            yield from parse(path, ctx)
            marks["parse"] = time.time()
        return run

    close = BackgroundLoad.close

    def timed_close(self: BackgroundLoad) -> None:
        close(self)
        marks["load"] = time.time()

    load = Study.load

    @contextmanager
    def timed_load(self: Study, *a: object, **k: object) -> Iterator[object]:
        with load(self, *a, **k) as loading:
            yield loading
        marks["commit"] = time.time()

    enrich = command._enrich

    def timed_enrich(study: Study) -> None:
        enrich(study)
        marks["enrich"] = time.time()

    pcap_source.pcap_parser, BackgroundLoad.close = timed_parser, timed_close  # type: ignore[method-assign]
    Study.load, command._enrich = timed_load, timed_enrich  # type: ignore[method-assign]
    code = ucn_main(args)
    marks["main"] = time.time()
    with open(marks_path, "w") as f:
        json.dump(marks, f)
    exit_now(code)  # as the `ucn` command exits


if __name__ == "__main__":
    main()
