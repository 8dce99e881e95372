"""The demo driver: population, then one chunk per device and block of days, then enrichment.

Each chunk is generated from its own random stream (seed, device, block), so the output does not
depend on chunk order. Each device's chunks are one atomic, idempotent import, many devices to a
transaction (Study.loads, BATCH_ROWS); memory is bounded by a few chunks, the rows gathered for
the next insert and one transaction's rows, whatever the number of users and days.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from queue import Empty, Queue

import numpy as np
import pyarrow as pa

from ucnstudy.demo.background import background_requests
from ucnstudy.demo.hostview import running_apps, sockets
from ucnstudy.demo.locations import day_plan, moves_rows, network_rows
from ucnstudy.demo.network import Network, build_network
from ucnstudy.demo.params import DemoParams
from ucnstudy.demo.population import Device, Population, build_population, population_tables
from ucnstudy.demo.qos import (
    EFFECT_FACTOR,
    conditions,
    day_of,
    heavy_days,
    qos_sensitive,
    shorten,
    tcp_performance,
)
from ucnstudy.demo.requests import Requests, sort_by_time
from ucnstudy.demo.rhythms import LocalDays
from ucnstudy.demo.sessions import Sessions, generate_sessions, ground_truth, to_timestamp
from ucnstudy.demo.traffic import deviceapptraffic, devicetraffic, flows, transfer_pieces, tuple_columns
from ucnstudy.demo.usertraffic import user_requests
from ucnstudy.demo.world import World, build_world
from ucnstudy.schema import TABLES, TIME_COLUMNS
from ucnstudy.store import Study
from ucnstudy.store.engine import index_statements, quote
from ucnstudy.store.study import Loads

KIND = "demo"
# Sessions and polls stop this long before a block ends, so that no transfer spills into the
# next block (blocks are generated independently).
BLOCK_MARGIN = 120.0
Progress = Callable[[str, int, int], None]
BATCH_ROWS = 2_000_000  # rows of one load transaction (see _load_chunks)


@dataclass
class Chunk:
    key: str
    tables: dict[str, pa.Table]
    # Planted truth aligned with the rows of dnsreqs and httpreqs: origin (0 user, 1 background)
    # and component (index into ucnstudy.demo.world.COMPONENTS).
    truth: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(t.num_rows for name, t in self.tables.items() if name in TIME_COLUMNS)


@dataclass
class DemoResult:
    params: DemoParams
    rows: dict[str, int] = field(default_factory=dict)
    chunks: int = 0
    skipped: int = 0
    seconds: float = 0.0
    enriched: str = ""

    @property
    def events(self) -> int:
        return sum(n for name, n in self.rows.items() if name in TIME_COLUMNS)


def iter_chunks(params: DemoParams, world: World | None = None) -> Iterator[Chunk]:
    """The whole study, chunk by chunk: first the population, then (device, block) chunks."""
    world = world or build_world()
    pop = build_population(params)
    yield Chunk("population", population_tables(pop))
    for device in pop.devices:
        for block in range(params.blocks):
            yield device_chunk(params, pop, world, device, block)


def chunk_count(params: DemoParams) -> int:
    return 1 + len(build_population(params).devices) * params.blocks


def device_chunk(params: DemoParams, pop: Population, world: World, device: Device, block: int) -> Chunk:
    """One device over one block of days: sessions, requests, capture tables, truth."""
    rng = np.random.default_rng([params.seed, device.id, block, 1])
    first = block * params.chunk_days
    days = LocalDays.build(pop.timezone(device), params.start + timedelta(days=first),
                           min(params.chunk_days, params.days - first))
    day_no = first + np.arange(days.n)
    active = pop.device_active(device, day_no)
    _, block_end = days.day_bounds_utc()
    owner = pop.user(device.owners[0])
    plan = day_plan(params.seed, owner, days, block)
    sessions = _clip(generate_sessions(rng, device, days, active), block_end[-1] - BLOCK_MARGIN)
    heavy = heavy_days(params.seed, device, block, days)
    if qos_sensitive(owner.id):
        sessions = shorten(sessions, np.where(heavy[day_of(days, sessions.start)], EFFECT_FACTOR, 1.0))
    country = pop.country(device)
    req = sort_by_time(Requests.concat([
        user_requests(rng, params.seed, device, country, sessions, world),
        background_requests(rng, device, sessions, world),
    ]))
    port_base = (device.id * 7919 + block * 5003) % 16384
    net = build_network(rng, device, country, req, world, port_base)
    tables = _capture_tables(rng, device, req, net)
    start = tables["flows"]["startts"].cast(pa.int64()).to_numpy() / 1e6
    quality = conditions(device, plan, days, heavy, start)
    tables["flows"] = tcp_performance(np.random.default_rng([params.seed, device.id, block, 8]),
                                      tables["flows"], *quality)
    if device.has_hostview:
        gt = ground_truth(rng, device, sessions)
        agent = {"sockets": sockets(device, net), "runningapps": running_apps(rng, device, sessions, gt)}
        tables |= gt | agent
    locations = [network_rows(rng, device, owner, plan, sessions.online_start, sessions.online_end)]
    if device.devtype == "phone" and not device.shared:
        locations.insert(0, moves_rows(device, owner, _plan_on(plan, active, days)))
    tables["locations"] = pa.concat_tables(locations, promote_options="default")
    truth = {"dnsreqs": {"origin": net.lookup_origin, "component": net.lookup_component},
             "httpreqs": {"origin": req.origin[req.http], "component": req.component[req.http]}}
    return Chunk(f"device={device.id},block={block}", tables, truth)


def _capture_tables(rng: np.random.Generator, device: Device, req: Requests, net: Network
                    ) -> dict[str, pa.Table]:
    """What a capture of the device's traffic holds: DNS, HTTP, per-second, per-tuple, flows."""
    pieces = transfer_pieces(rng, req, net)
    return {
        "dnsreqs": net.dnsreqs, "httpreqs": http_table(device, req, net),
        "devicetraffic": devicetraffic(device.id, pieces),
        "deviceapptraffic": deviceapptraffic(device.id, pieces, net), "flows": flows(device.id, pieces, net),
    }


def _clip(s: Sessions, limit: float) -> Sessions:
    """Cut sessions, segments and online intervals at `limit`."""
    seg = s.segments
    keep = seg.start < limit
    seg.start, seg.end, seg.kind, seg.session, seg.app = (
        seg.start[keep],
        np.minimum(seg.end[keep], limit),
        seg.kind[keep],
        seg.session[keep],
        seg.app[keep],
    )
    ok = s.start < limit
    on = s.online_start < limit
    return Sessions(
        s.start[ok],
        np.minimum(s.end[ok], limit),
        seg,
        s.online_start[on],
        np.minimum(s.online_end[on], limit),
    )


def _plan_on(plan: tuple[np.ndarray, ...], active: np.ndarray, days: LocalDays) -> tuple[np.ndarray, ...]:
    """Place visits on the days the device takes part in the study."""
    lo, _ = days.day_bounds_utc()
    day = np.clip(np.searchsorted(lo, plan[0], side="right") - 1, 0, days.n - 1)
    keep = active[day]
    return tuple(a[keep] for a in plan)


def http_table(device: Device, req: Requests, net: Network) -> pa.Table:
    h = np.nonzero(req.http)[0]
    tup = net.conn_of_request[h]
    return pa.table(
        {
            "devid": pa.array(np.full(h.size, device.id, np.int64)),
            "source": pa.array(np.full(h.size, KIND, dtype=object), pa.string()),
            "ts": to_timestamp(req.ts[h]),
            **req.http_columns,
            "res_size": pa.array(req.size[h]),
            **tuple_columns(net, tup),
        }
    )


def generate_demo(
    study: Study,
    params: DemoParams,
    *,
    on_progress: Progress | None = None,
    reset: bool = True,
    enrich: bool = True,
) -> DemoResult:
    """(Re)create the demo study: reset, load every chunk (idempotently), then enrich."""
    t0 = time.perf_counter()
    result = DemoResult(params)
    if reset:
        study.reset()
    with bulk_load_mode(study, on_progress):
        _load_chunks(study, params, result, on_progress)
    if enrich:
        result.enriched = run_enrichment(study, on_progress)
    result.seconds = time.perf_counter() - t0
    return result


def _load_chunks(study: Study, params: DemoParams, result: DemoResult, on_progress: Progress | None) -> None:
    total = chunk_count(params)
    chunks = _by_load(prefetch(iter_chunks(params), depth=2))
    # One import per device (its blocks are appended as they are generated), many devices in
    # one transaction: the engine gathers their rows into large inserts (DuckDB writes whole row
    # groups straight to the file instead of logging each device's rows in the WAL). A
    # transaction ends after BATCH_ROWS rows: DuckDB holds memory for a transaction's rows
    # until it commits (measured: peak RSS grew with the study in one transaction).
    more = True
    while more:
        with study.loads() as batch:
            more = _load_batch(batch, chunks, params, result, total, on_progress)


def _load_batch(batch: Loads, chunks: Iterator[tuple[str, Iterator[Chunk]]], params: DemoParams,
                result: DemoResult, total: int, on_progress: Progress | None) -> bool:
    """Load devices into `batch` until BATCH_ROWS rows; False once every chunk is loaded."""
    rows = 0
    for key, group in chunks:
        with batch.load(KIND, f"{params.describe()}#{key}", params.digest(key)) as load:
            for chunk in group:
                result.chunks += 1
                if load is None:
                    result.skipped += 1
                else:
                    for name, table in chunk.tables.items():
                        if table.num_rows:
                            load.append(name, table)
                            result.rows[name] = result.rows.get(name, 0) + table.num_rows
                            rows += table.num_rows
                if on_progress:
                    on_progress("generate", result.chunks, total)
        if rows >= BATCH_ROWS:
            return True
    return False


@contextmanager
def bulk_load_mode(study: Study, on_progress: Progress | None = None) -> Iterator[None]:
    """On DuckDB, load without secondary indexes and checkpoint once at the end.

    Maintaining ART indexes row by row and checkpointing after every few loads costs more than
    generating the rows; building each index once over the loaded table is faster. Other
    engines load as they are.
    """
    if study.engine.name != "duckdb":
        yield
        return
    raw = study.engine.raw  # type: ignore[attr-defined]
    raw.execute("SET checkpoint_threshold = '4GB'")
    raw.execute("SET enable_progress_bar = false")  # the demo shows its own progress
    # One DuckDB thread for the inserts: the generator has the other core, and inserts run in
    # parallel leave part-filled row groups that the checkpoint then rewrites (measured: more
    # CPU in all, a file 1.7x larger before the checkpoint; docs/performance.md).
    raw.execute("SET threads = 1")
    for (name,) in raw.execute("SELECT index_name FROM duckdb_indexes()").fetchall():
        raw.execute(f"DROP INDEX {quote(name)}")
    try:
        yield
    finally:
        raw.execute("RESET threads")  # building the indexes and the checkpoint use every core
        statements = [s for table in TABLES.values() for s in index_statements(table, "duckdb")]
        for i, statement in enumerate(statements, start=1):
            raw.execute(statement)
            if on_progress:
                on_progress("index", i, len(statements) + 1)
        raw.execute("CHECKPOINT")
        if on_progress:
            on_progress("index", len(statements) + 1, len(statements) + 1)
        raw.execute("RESET checkpoint_threshold")
        raw.execute("RESET enable_progress_bar")


def prefetch(items: Iterator[Chunk], depth: int) -> Iterator[Chunk]:
    """Generate the next chunks in a thread while the current one loads (order preserved).

    The database releases the GIL while it inserts, so generation and loading overlap; the
    bounded queue keeps at most `depth` chunks waiting, so memory stays bounded.
    """
    queue: Queue[tuple[Chunk | None, BaseException | None]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put((item, None))
            queue.put((None, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put((None, exc))

    worker = threading.Thread(target=produce, name="demo-generate", daemon=True)
    worker.start()
    try:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is None:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                queue.get_nowait()
            except Empty:
                worker.join(0.05)


def _by_load(chunks: Iterator[Chunk]) -> Iterator[tuple[str, Iterator[Chunk]]]:
    """Group consecutive chunks by load key: the population, then one device at a time."""
    yield from itertools.groupby(chunks, key=lambda c: c.key.split(",")[0])


def run_enrichment(study: Study, on_progress: Progress | None = None) -> str:
    """The final stage: ucnstudy.enrich.enrich_study when it exists (it fills the flags)."""
    try:
        from ucnstudy.enrich import enrich_study  # type: ignore[attr-defined]
    except ImportError:
        return ""
    if on_progress:
        on_progress("enrich", 0, 1)
    enrich_study(study)
    if on_progress:
        on_progress("enrich", 1, 1)
    return "ucnstudy.enrich.enrich_study"
