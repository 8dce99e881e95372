"""enrich_study: rewrite every derived column of a study, atomically and re-runnably.

Stages, all in one engine transaction (a failure leaves the study as it was):
  hosts     distinct host names -> registrable domain, public suffix, background-list match,
            Adblock verdict for DNS (computed once per distinct name in Python, joined in SQL)
  services  flows.service and deviceapptraffic.service from (dstport, proto)
  http      httpreqs: req_url_domain, matches_urlblacklist, matches_ctypefilter,
            matches_easylist (when Adblock lists are given), user_url
  dns       dnsreqs: query_domain, query_tld, matches_blacklist, matches_easylist, user_req
  duplicate dnsreqs.duplicate (enrich.duplicate)
The same transaction deletes the `enrich` entry of study_tasks that imports leave behind them, so
an import killed before its enrichment committed is enriched by the next import or `ucn enrich`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyarrow as pa

from ucnstudy.enrich import sql
from ucnstudy.enrich.domains import psl_version, split_host
from ucnstudy.enrich.duplicate import DEFAULT_WINDOW_S, flag_duplicates
from ucnstudy.enrich.flags import AdblockFilter, BackgroundHosts
from ucnstudy.enrich.services import service_arrow
from ucnstudy.enrich.session import SqlSession, transaction
from ucnstudy.store import Study

PENDING = "enrich"  # the study_tasks entry an import leaves until its rows are enriched
_HOST_SCHEMA = pa.schema([("host", pa.string())])
_URL_SCHEMA = pa.schema([("url", pa.string()), ("referer", pa.string()), ("mime", pa.string())])


@dataclass
class EnrichOptions:
    adblock_files: tuple[str, ...] = ()
    background_hosts: str | None = None  # a host list file replacing the bundled one
    duplicate_window_s: float = DEFAULT_WINDOW_S
    clear_adblock: bool = False  # reset matches_easylist to NULL (not evaluated)


@dataclass
class EnrichResult:
    """Rows changed per stage, and the versions of the lists used."""

    changed: dict[str, int] = field(default_factory=dict)
    psl_version: str = ""
    adblock_files: tuple[str, ...] = ()
    distinct_hosts: int = 0
    distinct_urls: int = 0
    seconds: float = 0.0


Step = Callable[[str], None]


def enrich_study(study: Study, adblock_files: Iterable[str | os.PathLike[str]] = (), *,
                 options: EnrichOptions | None = None, on_step: Step | None = None) -> EnrichResult:
    """Recompute every derived column of `study` in one transaction; safe to run again.

    Without Adblock files, matches_easylist keeps its values (from an earlier run with lists),
    unless `options.clear_adblock`; rows without them stay NULL (not evaluated).
    """
    opts = options or EnrichOptions()
    files = tuple(os.fspath(p) for p in adblock_files) or opts.adblock_files
    started = time.perf_counter()
    background = (BackgroundHosts.from_file(opts.background_hosts) if opts.background_hosts
                  else BackgroundHosts.bundled())
    adblock = AdblockFilter(files) if files else None  # read the lists before the transaction
    result = EnrichResult(psl_version=psl_version(), adblock_files=files)
    step = on_step or (lambda _name: None)
    study.create_schema()
    with transaction(study) as session:
        step("hosts")
        result.distinct_hosts = _put_hosts(session, background, adblock)
        step("services")
        result.changed.update(_services(session))
        step("http")
        result.changed.update(_http(session, adblock, opts.clear_adblock, result))
        step("dns")
        result.changed.update(_dns(session, adblock is not None, opts.clear_adblock))
        step("duplicate")
        result.changed["dnsreqs.duplicate"] = flag_duplicates(session, opts.duplicate_window_s)
        session.execute("DELETE FROM study_tasks WHERE task = ?", [PENDING])  # commits with the rest
    result.seconds = time.perf_counter() - started
    return result


def _put_hosts(session: SqlSession, background: BackgroundHosts, adblock: AdblockFilter | None) -> int:
    hosts = session.fetch_arrow(sql.DISTINCT_HOSTS, _HOST_SCHEMA).column("host").to_pylist()
    domains, suffixes, listed, has_paths, blocked = [], [], [], [], []
    path_hosts, path_prefixes = [], []
    for host in hosts:
        domain, suffix = split_host(host)
        domains.append(domain)
        suffixes.append(suffix)
        host_listed, prefixes = background.classify(host)
        listed.append(host_listed)
        has_paths.append(bool(prefixes))
        path_hosts.extend([host] * len(prefixes))
        path_prefixes.extend(prefixes)
        blocked.append(adblock.blocks_host(host) if adblock else None)
    session.put("_ucn_hosts", pa.table({
        "host": pa.array(hosts, pa.string()), "domain": pa.array(domains, pa.string()),
        "suffix": pa.array(suffixes, pa.string()), "bl_host": pa.array(listed, pa.bool_()),
        "has_paths": pa.array(has_paths, pa.bool_()), "adblock": pa.array(blocked, pa.bool_()),
    }))
    session.put("_ucn_host_paths", pa.table({
        "host": pa.array(path_hosts, pa.string()), "prefix": pa.array(path_prefixes, pa.string()),
    }))
    return len(hosts)


def _services(session: SqlSession) -> dict[str, int]:
    session.put("_ucn_services", service_arrow())
    changed = {}
    for table in ("flows", "deviceapptraffic"):
        known, unknown = sql.set_service(table)
        changed[f"{table}.service"] = max(session.execute(known), 0) + max(session.execute(unknown), 0)
    return changed


def _http(session: SqlSession, adblock: AdblockFilter | None, clear_adblock: bool,
          result: EnrichResult) -> dict[str, int]:
    changed = {
        "httpreqs.hosts": max(session.execute(sql.SET_HTTP_HOSTS), 0)
        + max(session.execute(sql.SET_HTTP_HOST_PATHS), 0)
        + max(session.execute(sql.clear_without_key(
            "httpreqs", "req_url_host", ("req_url_domain", "matches_urlblacklist"))), 0),
    }
    ctype_sql, params = sql.set_ctypefilter()
    changed["httpreqs.matches_ctypefilter"] = session.execute(ctype_sql, params)
    if adblock is not None:
        result.distinct_urls = _put_adblock_urls(session, adblock)
        changed["httpreqs.matches_easylist"] = max(session.execute(sql.SET_HTTP_ADBLOCK), 0) + max(
            session.execute(sql.clear_without_key("httpreqs", "req_url", ("matches_easylist",))), 0)
    elif clear_adblock:
        changed["httpreqs.matches_easylist"] = session.execute(
            "UPDATE httpreqs SET matches_easylist = NULL WHERE matches_easylist IS NOT NULL")
    changed["httpreqs.user_url"] = session.execute(sql.set_user_flag(
        "httpreqs", "user_url", ("matches_ctypefilter", "matches_urlblacklist", "matches_easylist")))
    return changed


def _put_adblock_urls(session: SqlSession, adblock: AdblockFilter, chunk: int = 100_000) -> int:
    urls = session.fetch_arrow(sql.DISTINCT_URLS, _URL_SCHEMA)
    verdicts: list[bool | None] = []
    for batch in urls.to_batches(max_chunksize=chunk):
        rows = zip(*(batch.column(i).to_pylist() for i in range(3)), strict=True)
        verdicts.extend(adblock.blocks_url(url, referer or None, mime or None) for url, referer, mime in rows)
    session.put("_ucn_adblock_urls", urls.append_column("blocked", pa.array(verdicts, pa.bool_())))
    return urls.num_rows


def _dns(session: SqlSession, evaluate_adblock: bool, clear_adblock: bool) -> dict[str, int]:
    columns = ("query_domain", "query_tld", "matches_blacklist")
    if evaluate_adblock:
        columns += ("matches_easylist",)
    changed = {
        "dnsreqs.hosts": max(session.execute(sql.set_dns_hosts(evaluate_adblock)), 0)
        + max(session.execute(sql.clear_without_key("dnsreqs", "query", columns)), 0),
    }
    if clear_adblock and not evaluate_adblock:
        changed["dnsreqs.matches_easylist"] = session.execute(
            "UPDATE dnsreqs SET matches_easylist = NULL WHERE matches_easylist IS NOT NULL")
    changed["dnsreqs.user_req"] = session.execute(
        sql.set_user_flag("dnsreqs", "user_req", ("matches_blacklist", "matches_easylist")))
    return changed
