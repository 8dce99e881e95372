"""User-initiated requests: page views while browsing, video streaming, driven by the sessions.

Each page view fetches its page, then static resources and trackers embedded in the page, so
user requests also reach tracker hosts. Consecutive views often stay on one site (the Referer is
then the previous page); a new site comes from the device's favourites (Zipf-like popularity)
with a search engine or nothing as Referer.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ucnstudy.demo.population import Device
from ucnstudy.demo.requests import USER, Requests, join_strings, numbers
from ucnstudy.demo.sessions import BROWSE, VIDEO, Sessions
from ucnstudy.demo.world import World

THINK_SECONDS = {"phone": 45.0, "tablet": 55.0, "laptop": 60.0, "pc": 60.0}
STREAM_SCALE = {"phone": 0.35, "tablet": 0.6, "laptop": 1.0, "pc": 1.0}
SEARCH_REFERERS = {"fr": "https://www.google.fr/", "uk": "https://www.google.co.uk/"}
PAGE, STATIC, TRACKER, VIDEO_ROLE = 0, 1, 2, 3


def favourite_weights(seed: int, device: Device, world: World, country: str, video: bool) -> np.ndarray:
    """Site popularity for one device: country popularity times a stable personal taste."""
    # Tastes differ more for web sites than for the few video services.
    taste = np.random.default_rng([seed, device.id, 7]).lognormal(
        0, 0.3 if video else 1.0, world.sites.weight.size
    )
    ok = np.isin(world.sites.country, [country, "*"]) & (world.sites.video == video)
    w = np.where(ok, world.sites.weight * taste, 0.0)
    return w / w.sum()


def user_requests(
    rng: np.random.Generator, seed: int, device: Device, country: str, sessions: Sessions, world: World
) -> Requests:
    video_sites = _video_sites(rng, seed, device, country, world, sessions.segments.of_kind(VIDEO).size)
    v_ts, v_site, v_new = _visits(rng, seed, device, country, sessions, world, video_sites)
    page_url, page_path = _page_urls(rng, world, v_site)
    views = _expand_views(rng, device, world, v_ts, v_site, v_new, (page_url, page_path), country)
    stream = _streams(rng, device, sessions, world, video_sites)
    return Requests.concat([r for r in (views, stream) if len(r)] or [Requests.empty()])


def _visits(
    rng: np.random.Generator,
    seed: int,
    device: Device,
    country: str,
    sessions: Sessions,
    world: World,
    vsite: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    segs = sessions.segments
    idx = segs.of_kind(BROWSE)
    dur = segs.end[idx] - segs.start[idx]
    n = rng.poisson(dur / THINK_SECONDS[device.devtype])
    seg = np.repeat(idx, n)
    ts = segs.start[seg] + rng.random(seg.size) * (segs.end[seg] - segs.start[seg])
    order = np.lexsort((ts, seg))
    ts, seg = ts[order], seg[order]
    first = np.append(True, seg[1:] != seg[:-1])
    new = first | (rng.random(seg.size) < 0.45)
    drawn = rng.choice(
        world.sites.weight.size, size=seg.size, p=favourite_weights(seed, device, world, country, False)
    )
    last_new = np.maximum.accumulate(np.where(new, np.arange(seg.size), 0))
    # A video segment starts with a view of the video site's page.
    vid = segs.of_kind(VIDEO)
    ts = np.concatenate([ts, segs.start[vid]])
    site = np.concatenate([drawn[last_new], vsite])
    new = np.concatenate([new, np.ones(vid.size, bool)])
    order = np.argsort(ts, kind="stable")
    return ts[order], site[order], new[order]


def _video_sites(
    rng: np.random.Generator, seed: int, device: Device, country: str, world: World, n: int
) -> np.ndarray:
    p = favourite_weights(seed, device, world, country, True)
    return rng.choice(p.size, size=n, p=p)


def _page_urls(rng: np.random.Generator, world: World, site: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """URL and path of each page view (resources carry the URL as their Referer)."""
    s = world.sites
    comp = s.comp_start[site]
    res = _resources(rng, world, comp)
    scheme = np.where(s.https[site], "https://", "http://")
    host = pa.array(np.array(world.catalog.names, dtype=object)[s.comp_host[comp]], pa.string())
    path = join_strings(
        s.res_prefix.take(res), numbers(rng.integers(100_000, 9_999_999, site.size)), s.res_suffix.take(res)
    )
    return join_strings(pa.array(scheme, pa.string()), host, path), path


def _expand_views(
    rng: np.random.Generator,
    device: Device,
    world: World,
    ts: np.ndarray,
    site: np.ndarray,
    new: np.ndarray,
    pages: tuple[pa.Array, pa.Array],
    country: str,
) -> Requests:
    """Each page view: its page, then its components' resources (one connection per host)."""
    s = world.sites
    view = np.repeat(np.arange(site.size), s.comp_count[site])
    comp = s.comp_start[site[view]] + (
        np.arange(view.size)
        - np.repeat(np.cumsum(s.comp_count[site]) - s.comp_count[site], s.comp_count[site])
    )
    role = s.comp_role[comp]
    cache = np.where(new[view], 1.0, 0.5) * (0.6 if device.devtype == "phone" else 1.0)
    n_req = np.where(role == PAGE, 1, rng.poisson(s.comp_requests[comp] * cache))
    n_req = np.where(role == VIDEO_ROLE, 0, n_req)
    r_view, r_comp = np.repeat(view, n_req), np.repeat(comp, n_req)
    r_role = s.comp_role[r_comp]
    is_page = r_role == PAGE
    r_ts = ts[r_view] + np.where(is_page, 0.0, rng.uniform(0.3, 3.0, r_view.size))
    r_res = _resources(rng, world, r_comp)
    status, size = _status_and_size(rng, world, r_res, r_role)
    http = ~s.https[site[r_view]]
    requests = Requests(
        ts=r_ts,
        host=s.comp_host[r_comp].astype(np.int64),
        port=np.where(http, 80, 443),
        proto=np.full(r_ts.size, 6),
        conn=r_view.astype(np.int64) * 64 + (r_comp - s.comp_start[site[r_view]]),
        origin=np.full(r_ts.size, USER),
        component=site[r_view].astype(np.int64),
        size=size,
        upload=rng.integers(350, 900, r_ts.size),
        dns_only=np.zeros(r_ts.size, bool),
        http=http,
        app=np.full(r_ts.size, device.browser_app if device.has_hostview else None, dtype=object),
    )
    h = np.nonzero(http)[0]
    rows = ViewRows(h, r_view[h], r_res[h], status[h], is_page[h], requests.host[h])
    requests.http_columns = _view_http_columns(rng, device, world, rows, new, pages, country)
    return requests


class ViewRows(NamedTuple):
    """The plain-HTTP requests of some page views: row index, view, resource, status, host."""

    index: np.ndarray
    view: np.ndarray
    res: np.ndarray
    status: np.ndarray
    is_page: np.ndarray
    host: np.ndarray


def _view_http_columns(rng: np.random.Generator, device: Device, world: World, rows: ViewRows,
                       new: np.ndarray, pages: tuple[pa.Array, pa.Array], country: str
                       ) -> dict[str, pa.Array]:
    """httpreqs columns of page-view requests; a page row carries its view's URL."""
    s = world.sites
    page_url, page_path = pages
    previous = np.append(0, np.arange(len(page_url) - 1))
    page_referer = np.where(new, -1, previous)  # continuing on a site: the previous page
    n = rows.index.size
    source = np.where(rows.is_page, page_referer[rows.view], rows.view)
    referer = _referers(rng, page_url, source, rows.is_page, country)
    res = rows.res
    own = join_strings(s.res_prefix.take(res), numbers(rng.integers(1_000, 999_999, n)),
                       s.res_suffix.take(res))
    view = pa.array(rows.view)
    mask = pa.array(rows.is_page)
    path = pc.if_else(mask, page_path.take(view), own)
    host = pa.array(np.array(world.catalog.names, dtype=object)[rows.host], pa.string())
    return {
        "req_method": pa.array(np.full(n, "GET", dtype=object), pa.string()),
        "req_url": pc.if_else(mask, page_url.take(view), join_strings("http://", host, path)),
        "req_url_host": host,
        "req_url_path": path,
        "req_ua": pa.array(np.full(n, device.browser_ua, dtype=object), pa.string()),
        "req_referer": referer,
        "res_status_code": pa.array(rows.status, pa.int32()),
        "res_mimetype": s.res_mime.take(res),
    }


def _resources(rng: np.random.Generator, world: World, comp: np.ndarray) -> np.ndarray:
    s = world.sites
    return s.res_start[comp] + (rng.random(comp.size) * s.res_count[comp]).astype(np.int64)


def _status_and_size(
    rng: np.random.Generator, world: World, res: np.ndarray, role: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    size = world.sites.res_size[res] * rng.lognormal(0, 0.6, res.size)
    u = rng.random(res.size)
    status = np.select(
        [(role == STATIC) & (u < 0.15), u > 0.99, (role == PAGE) & (u > 0.96)], [304, 404, 302], 200
    )
    size = np.where(status == 304, 0, np.where(status >= 300, 400, size))
    return status, size.astype(np.int64)


def _referers(
    rng: np.random.Generator, page_url: pa.Array, source: np.ndarray, is_page: np.ndarray, country: str
) -> pa.Array:
    """Resources: their page. Pages: the previous page, a search engine, or nothing (typed)."""
    known = source >= 0
    referer = page_url.take(pa.array(np.where(known, source, 0)))
    u = rng.random(source.size)
    outside = np.where(u < 0.5, "", np.where(u < 0.85, SEARCH_REFERERS[country], "https://www.facebook.com/"))
    mask = pa.array(is_page & ~known)
    return pc.if_else(mask, pa.array(outside, pa.string()), referer)


def _streams(
    rng: np.random.Generator, device: Device, sessions: Sessions, world: World, site: np.ndarray
) -> Requests:
    """Video segments fetched every few seconds over one connection per video segment."""
    segs = sessions.segments
    idx = segs.of_kind(VIDEO)
    if idx.size == 0:
        return Requests.empty()
    s = world.sites
    interval = rng.uniform(4.0, 10.0, idx.size)
    n = np.maximum(0, ((segs.end[idx] - segs.start[idx] - 3.0) // interval).astype(np.int64))
    seg = np.repeat(np.arange(idx.size), n)
    k = np.arange(seg.size) - np.repeat(np.cumsum(n) - n, n)
    ts = segs.start[idx][seg] + 3.0 + k * interval[seg] + rng.uniform(0, 0.5, seg.size)
    comp = s.comp_start[site] + 2  # a video site's components: page, static, video, trackers
    assert (s.comp_role[comp] == VIDEO_ROLE).all()
    comp = comp[seg]
    http = ~s.https[site[seg]]
    size = (700_000 * STREAM_SCALE[device.devtype] * rng.lognormal(0, 0.3, seg.size)).astype(np.int64)
    req = Requests(
        ts=ts,
        host=s.comp_host[comp].astype(np.int64),
        port=np.where(http, 80, 443),
        proto=np.full(ts.size, 6),
        conn=(1 << 40) + idx[seg].astype(np.int64),
        origin=np.full(ts.size, USER),
        component=site[seg].astype(np.int64),
        size=size,
        upload=rng.integers(400, 700, ts.size),
        dns_only=np.zeros(ts.size, bool),
        http=http,
        app=np.full(ts.size, device.browser_app if device.has_hostview else None, dtype=object),
    )
    h = np.nonzero(http)[0]
    res = s.res_start[comp[h]]
    host = pa.array(np.array(world.catalog.names, dtype=object)[req.host[h]], pa.string())
    path = join_strings(s.res_prefix.take(res), numbers(k[h]), s.res_suffix.take(res))
    req.http_columns = {
        "req_method": pa.array(np.full(h.size, "GET", dtype=object), pa.string()),
        "req_url": join_strings("http://", host, path),
        "req_url_host": host,
        "req_url_path": path,
        "req_ua": pa.array(np.full(h.size, device.browser_ua, dtype=object), pa.string()),
        "req_referer": pa.nulls(h.size, pa.string()),
        "res_status_code": pa.array(np.full(h.size, 200), pa.int32()),
        "res_mimetype": s.res_mime.take(res),
    }
    return req
