"""User sessions: foreground-app segments, idle breaks, online intervals and keyboard/mouse events.

A session is a run of segments (browse, video, office) separated now and then by idle breaks
(the user left the device; the app stays in the foreground). Laptops and PCs stay online a while
around their sessions and idle in between; phones are online all day. Sessions drive the
user-initiated requests (usertraffic.py) and, on laptops and PCs, the ground truth that an
end-host agent such as HostView records (gt_foreground, gt_io).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ucnstudy.demo.population import Device
from ucnstudy.demo.rhythms import LocalDays, sample_session_starts

BROWSE, VIDEO, OFFICE, BREAK = 0, 1, 2, 3
KIND_NAMES = ("browse", "video", "office", "break")
# devtype: (sessions per day, extra segments per session, P(browse, video, office), browse median s)
USAGE = {
    "phone": (5.0, 0.4, (0.82, 0.08, 0.10), 150.0),
    "tablet": (2.5, 1.0, (0.60, 0.28, 0.12), 500.0),
    "laptop": (2.2, 2.0, (0.55, 0.12, 0.33), 600.0),
    "pc": (2.0, 2.0, (0.50, 0.10, 0.40), 600.0),
}
OFFICE_APPS = {
    "windows": ("winword.exe", "excel.exe", "outlook.exe", "acrord32.exe"),
    "darwin": ("Microsoft Word", "Mail", "Preview", "Finder"),
    "ios": ("com.apple.mobilemail", "com.apple.camera"),
    "android": ("com.google.android.gm", "com.android.camera2"),
}
DESKTOP_APP = {"windows": "explorer.exe", "darwin": "Finder", "ios": "springboard", "android": "launcher"}
# Per kind: P(keyboard), P(mouse) in an engaged second; video shows speaker output instead.
IO_RATES = {BROWSE: (0.02, 0.10), VIDEO: (0.0, 0.005), OFFICE: (0.14, 0.05)}
# Idle online time of laptops and PCs (hours): left on overnight or with the lid open.
PC_OVERNIGHT = 0.5  # share of a PC's days that end with the PC left on through the night
OVERNIGHT_HOURS = (7.0, 12.0)
LAPTOP_LEFT_OPEN = 0.4  # share of laptop sessions after which the laptop stays online
LEFT_OPEN_HOURS = (3.0, 10.0)


@dataclass
class Segments:
    start: np.ndarray
    end: np.ndarray
    kind: np.ndarray
    session: np.ndarray
    app: np.ndarray  # object array of app names

    def of_kind(self, kind: int) -> np.ndarray:
        return np.nonzero(self.kind == kind)[0]


@dataclass
class Sessions:
    start: np.ndarray
    end: np.ndarray
    segments: Segments
    online_start: np.ndarray  # merged online intervals (UTC epoch seconds)
    online_end: np.ndarray


def generate_sessions(
    rng: np.random.Generator, device: Device, days: LocalDays, active: np.ndarray
) -> Sessions:
    per_day, extra, mix, browse_median = USAGE[device.devtype]
    starts = sample_session_starts(rng, days, active, device.role, device.devtype, per_day * device.activity)
    n_seg = 1 + rng.poisson(extra, starts.size)
    session = np.repeat(np.arange(starts.size), n_seg)
    kind = rng.choice(3, size=session.size, p=mix)
    scale = 1.0 if device.devtype != "phone" else 0.35
    median = np.select([kind == BROWSE, kind == VIDEO], [browse_median, 1500.0 * scale], 900.0 * scale)
    dur = np.maximum(20.0, median * rng.lognormal(0, 0.8, session.size))
    is_last = np.append(session[1:] != session[:-1], True)
    brk = np.where(
        (rng.random(session.size) < 0.15) & ~is_last,
        np.maximum(60.0, 300 * rng.lognormal(0, 0.6, session.size)),
        0.0,
    )
    offset = _exclusive_cumsum_by_group(dur + brk, session)
    seg_start = starts[session] + offset
    seg_end = seg_start + dur
    # Sessions must not overlap on one device: cut each at the next session's start.
    limit = np.append(starts[1:] - 30.0, np.inf)[session]
    keep = seg_start < limit
    seg_end = np.minimum(seg_end, limit)
    brk = np.clip(np.minimum(seg_end + brk, limit) - seg_end, 0, None)
    apps = _apps(rng, device, kind)
    segs = _with_breaks(seg_start[keep], seg_end[keep], kind[keep], session[keep], apps[keep], brk[keep])
    sess_end = np.full(starts.size, -np.inf)
    np.maximum.at(sess_end, segs.session, segs.end)
    ok = np.isfinite(sess_end)
    on_start, on_end = _online(rng, device, days, active, starts[ok], sess_end[ok])
    return Sessions(starts[ok], sess_end[ok], _renumber(segs, ok), on_start, on_end)


def _exclusive_cumsum_by_group(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return values
    total = np.cumsum(values)
    first = np.nonzero(np.append(True, group[1:] != group[:-1]))[0]
    base = np.repeat(total[first] - values[first], np.diff(np.append(first, values.size)))
    return total - values - base


def _apps(rng: np.random.Generator, device: Device, kind: np.ndarray) -> np.ndarray:
    office = np.array(OFFICE_APPS[device.os], dtype=object)
    return np.where(kind == OFFICE, office[rng.integers(office.size, size=kind.size)], device.browser_app)


def _with_breaks(
    start: np.ndarray,
    end: np.ndarray,
    kind: np.ndarray,
    session: np.ndarray,
    app: np.ndarray,
    brk: np.ndarray,
) -> Segments:
    b = brk > 0
    order = np.argsort(np.concatenate([start, end[b]]), kind="stable")
    return Segments(
        start=np.concatenate([start, end[b]])[order],
        end=np.concatenate([end, end[b] + brk[b]])[order],
        kind=np.concatenate([kind, np.full(int(b.sum()), BREAK)])[order],
        session=np.concatenate([session, session[b]])[order],
        app=np.concatenate([app, app[b]])[order],
    )


def _renumber(segs: Segments, kept_sessions: np.ndarray) -> Segments:
    new_id = np.cumsum(kept_sessions) - 1
    segs.session = new_id[segs.session]
    return segs


def _online(rng: np.random.Generator, device: Device, days: LocalDays, active: np.ndarray,
            s_start: np.ndarray, s_end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intervals with network connectivity.

    Phones and always-on desktops: every active day. Other desktops: from a while before the
    first session of a day to hours after its last one (left on, idle), on some days through
    the night (screen locked). Laptops and tablets: around their sessions, then asleep; some
    laptop sessions end with the lid left open for hours. The services keep polling through
    these idle hours: in the real study most events of such devices fell outside any activity.
    """
    lo, hi = days.day_bounds_utc()
    if device.devtype == "phone" or device.always_on:
        return merge_intervals(lo[active], hi[active])
    if device.devtype == "pc" and s_start.size:
        day = np.clip(np.searchsorted(lo, s_start, side="right") - 1, 0, days.n - 1)
        starts = np.nonzero(np.append(True, day[1:] != day[:-1]))[0]
        first, last = s_start[starts], np.maximum.reduceat(s_end, starts)
        overnight = rng.random(last.size) < PC_OVERNIGHT
        after = np.where(overnight, rng.uniform(*OVERNIGHT_HOURS, last.size), rng.uniform(1, 4, last.size))
        return merge_intervals(first - rng.uniform(600, 3600, first.size), last + after * 3600)
    before, after = {"tablet": (60, 900), "laptop": (300, 2400), "pc": (600, 3600)}[device.devtype]
    tail = after * rng.lognormal(0, 0.8, s_end.size)
    if device.devtype == "laptop":
        left_open = rng.random(s_end.size) < LAPTOP_LEFT_OPEN
        tail = np.where(left_open, rng.uniform(*LEFT_OPEN_HOURS, s_end.size) * 3600, tail)
    return merge_intervals(s_start - before * rng.random(s_start.size), s_end + tail)


def merge_intervals(start: np.ndarray, end: np.ndarray, gap: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals (sorted output); intervals closer than `gap` are merged."""
    if start.size == 0:
        return start.astype(float), end.astype(float)
    order = np.argsort(start, kind="stable")
    s, e = start[order], end[order]
    reach = np.maximum.accumulate(e)
    new = np.append(True, s[1:] > reach[:-1] + gap)
    group = np.cumsum(new) - 1
    out_end = np.full(int(group[-1]) + 1, -np.inf)
    np.maximum.at(out_end, group, e)
    return s[new], out_end


def ground_truth(rng: np.random.Generator, device: Device, sessions: Sessions) -> dict[str, pa.Table]:
    """gt_foreground (segments, breaks and idle time while online) and gt_io for one device."""
    segs = sessions.segments
    idle_start, idle_end, idle_app = _idle_gaps(device, sessions)
    fg = {
        "starttime": np.concatenate([segs.start, idle_start]),
        "endtime": np.concatenate([segs.end, idle_end]),
        "appname": np.concatenate([segs.app, idle_app]),
        "fullscreen": np.concatenate([segs.kind == VIDEO, np.zeros(idle_start.size, bool)]),
        "idle": np.concatenate([segs.kind == BREAK, np.ones(idle_start.size, bool)]),
    }
    order = np.argsort(fg["starttime"], kind="stable")
    foreground = {k: v[order] for k, v in fg.items()}
    return {
        "gt_foreground": _table(device.id, foreground, ("starttime", "endtime")),
        "gt_io": _table(device.id, _io_events(rng, segs), ("ts",)),
    }


def _idle_gaps(device: Device, sessions: Sessions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Online time outside sessions: the desktop (or the last app) stays in front, idle."""
    bounds = np.sort(np.concatenate([sessions.start, sessions.end]))
    edges = np.concatenate([sessions.online_start, bounds, sessions.online_end])
    kind = np.concatenate(
        [np.zeros(sessions.online_start.size), np.ones(bounds.size), np.full(sessions.online_end.size, 2)]
    )
    order = np.lexsort((kind, edges))
    edges = edges[order]
    # Between consecutive edges: idle when the count of open sessions is zero and we are online.
    online = np.cumsum(np.select([kind[order] == 0, kind[order] == 2], [1, -1], 0))
    in_session = np.cumsum(np.where(kind[order] == 1, 1, 0)) % 2
    gap = (online[:-1] > 0) & (in_session[:-1] == 0) & (np.diff(edges) > 1.0)
    start, end = edges[:-1][gap], edges[1:][gap]
    return start, end, np.full(start.size, DESKTOP_APP[device.os], dtype=object)


def _io_events(rng: np.random.Generator, segs: Segments) -> dict[str, np.ndarray]:
    idx = np.nonzero(segs.kind != BREAK)[0]
    secs = np.maximum(0, np.floor(segs.end[idx] - segs.start[idx]).astype(np.int64))
    seg = np.repeat(idx, secs)
    offset = np.arange(seg.size) - np.repeat(np.cumsum(secs) - secs, secs)
    # The user is engaged in 3 slots of 4 (30 s each): reading pauses leave gaps in the input.
    slots = -(-secs // 30)
    slot_base = np.repeat(np.cumsum(slots) - slots, secs)
    engaged = (rng.random(int(slots.sum())) < 0.75)[slot_base + offset // 30]
    kind = segs.kind[seg]
    p_kbd = np.select([kind == BROWSE, kind == OFFICE], [IO_RATES[BROWSE][0], IO_RATES[OFFICE][0]], 0.0)
    p_mouse = np.select(
        [kind == BROWSE, kind == OFFICE], [IO_RATES[BROWSE][1], IO_RATES[OFFICE][1]], IO_RATES[VIDEO][1]
    )
    base = segs.start[seg] + offset
    kbd = engaged & (rng.random(seg.size) < p_kbd)
    mouse = engaged & (rng.random(seg.size) < p_mouse)
    speaker = (kind == VIDEO) & (offset % 30 == 0)
    ts = np.concatenate([base[kbd], base[mouse], base[speaker]]) + rng.random(
        int(kbd.sum() + mouse.sum() + speaker.sum())
    )
    dev = np.array(
        ["keyboard"] * int(kbd.sum()) + ["mouse"] * int(mouse.sum()) + ["speaker"] * int(speaker.sum()),
        dtype=object,
    )
    app = np.concatenate([segs.app[seg][kbd], segs.app[seg][mouse], segs.app[seg][speaker]])
    order = np.argsort(ts, kind="stable")
    return {"ts": ts[order], "io_device": dev[order], "appname": app[order]}


def _table(devid: int, columns: dict[str, np.ndarray], time_columns: tuple[str, ...]) -> pa.Table:
    n = len(next(iter(columns.values())))
    data: dict[str, pa.Array] = {"devid": pa.array(np.full(n, devid, dtype=np.int64))}
    for name, values in columns.items():
        data[name] = to_timestamp(values) if name in time_columns else pa.array(values)
    return pa.table(data)


def to_timestamp(epoch_seconds: np.ndarray) -> pa.Array:
    micros = np.round(np.asarray(epoch_seconds, dtype=float) * 1e6).astype(np.int64)
    return pa.array(micros.astype("datetime64[us]"))
