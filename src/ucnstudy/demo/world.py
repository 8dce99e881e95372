"""The static world of a demo study: host catalog, site and service tables as arrays.

Built once per run (never per event). Page components and their resources are flattened into
CSR-style arrays so that expanding page views into requests is a few numpy repeats and takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ucnstudy.demo.hosts import HostCatalog, build_catalog
from ucnstudy.demo.services import SERVICES
from ucnstudy.demo.sites import SITES

ROLES = ("page", "static", "tracker", "video")
# Names of what produced a request: sites first, then background services.
COMPONENTS: tuple[str, ...] = tuple(s.name for s in SITES) + tuple(s.name for s in SERVICES)
SERVICE_BASE = len(SITES)


@dataclass
class SiteArrays:
    https: np.ndarray  # per site
    country: np.ndarray
    weight: np.ndarray
    video: np.ndarray
    comp_start: np.ndarray  # per site: first component index, and count
    comp_count: np.ndarray
    comp_host: np.ndarray  # per component
    comp_role: np.ndarray
    comp_requests: np.ndarray
    res_start: np.ndarray
    res_count: np.ndarray
    res_prefix: pa.Array  # per resource
    res_suffix: pa.Array
    res_mime: pa.Array
    res_size: np.ndarray


@dataclass
class World:
    catalog: HostCatalog
    sites: SiteArrays

    def page_host(self, site: np.ndarray) -> np.ndarray:
        return self.sites.comp_host[self.sites.comp_start[site]]


def _hosts() -> dict[str, str]:
    hosts: dict[str, str] = {}
    for site in SITES:
        for comp in site.components:
            hosts.setdefault(comp.host, comp.provider)
    for service in SERVICES:
        hosts.setdefault(service.host, service.provider)
    return hosts


def build_world() -> World:
    catalog = build_catalog(_hosts())
    comps = [c for s in SITES for c in s.components]
    resources = [r for c in comps for r in c.resources]
    comp_count = np.array([len(s.components) for s in SITES])
    res_count = np.array([len(c.resources) for c in comps])
    sites = SiteArrays(
        https=np.array([s.scheme == "https" for s in SITES]),
        country=np.array([s.country for s in SITES]),
        weight=np.array([s.weight for s in SITES], dtype=float),
        video=np.array([s.kind == "video" for s in SITES]),
        comp_start=np.cumsum(comp_count) - comp_count,
        comp_count=comp_count,
        comp_host=catalog.indices([c.host for c in comps]),
        comp_role=np.array([ROLES.index(c.role) for c in comps]),
        comp_requests=np.array([c.requests for c in comps]),
        res_start=np.cumsum(res_count) - res_count,
        res_count=res_count,
        res_prefix=pa.array([r.prefix for r in resources]),
        res_suffix=pa.array([r.suffix for r in resources]),
        res_mime=pa.array([r.mime for r in resources]),
        res_size=np.array([r.size for r in resources], dtype=float),
    )
    return World(catalog, sites)
