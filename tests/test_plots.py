"""Figure builders on small hand-made DataFrames: panels, labels, ticks, scales, plotted data."""

from __future__ import annotations

import io
from types import SimpleNamespace

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

from ucnstudy.plots import FIGURES, FigureContext, build_figures
from ucnstudy.plots.cdfs import plot_log_ecdf
from ucnstudy.plots.style import ecdf, new_figure
from ucnstudy.plots.timeline import reduce_points

ANALYSIS_NAMES = {"traffic-by-port", "user-agents", "dns-http", "user-summary", "select-users",
                  "inter-event", "heatmap", "activities", "activity-context", "timeline",
                  "activity-qoe", "qoe-effects"}


def tick_labels(ax, axis: str = "x") -> list[str]:
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text() for t in ticks]


def summary_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "username": ["ann", "bea", "carl", "dan", "eve"], "country": ["uk", "fr", "fr", "uk", "uk"],
        "devices_personal": [1, 2, 1, 1, 0], "devices_shared": [0, 0, 1, 1, 1],
        "total_days": [3.0, 10.0, 40.0, 0.0, 12.0], "active_min": [100.0, 2.0, 3000.0, 0.0, 50.0],
        "packets_in": [10, 20, 30, 0, 40], "packets_out": [1, 2, 3, 0, 4],
        "mib_in": [10.0, 0.01, 2000.0, 0.0, 5.0], "mib_out": [1.0, 0.001, 100.0, 0.0, 1.0],
        "dns": [100, 5, 20000, 0, 300], "http": [1000, 1, 5000, 0, 20],
    })


def test_every_registered_analysis_has_a_figure_builder() -> None:
    from ucnstudy.analyses import ANALYSES
    from ucnstudy.report.runs import load_analyses

    load_analyses()
    assert set(FIGURES) == set(ANALYSES) == ANALYSIS_NAMES


def test_ecdf_reaches_one_and_counts_ties() -> None:
    x, y = ecdf([3.0, 1.0, 1.0, 2.0])
    assert x.tolist() == [1.0, 1.0, 2.0, 3.0]
    assert y.tolist() == [0.25, 0.5, 0.75, 1.0]


def test_user_summary_is_five_rows_by_country_with_labelled_log_ticks() -> None:
    [named] = build_figures("user-summary", summary_frame())
    axes = np.array(named.figure.axes).reshape(5, 2)
    assert [ax.get_title() for ax in axes[0]] == ["France (2 users)", "UK (3 users)"]
    assert [ax.get_ylabel() for ax in axes[:, 0]] == [
        "Duration (days)", "Total active time", "Total traffic (in + out)", "DNS responses", "HTTP requests"]
    assert axes[0, 0].get_yscale() == "linear"
    assert all(ax.get_yscale() == "log" for ax in axes[1:].ravel())
    assert tick_labels(axes[1, 0], "y") == ["1min", "1h", "1day"]
    assert axes[1, 0].get_yticks().tolist() == [1.0, 60.0, 1440.0]
    assert tick_labels(axes[2, 1], "y") == ["1KB", "1MB", "1GB"]
    assert axes[2, 1].get_yticks().tolist() == [1024.0, 1024.0**2, 1024.0**3]
    # users sorted by duration within a country, bars are the values
    assert tick_labels(axes[4, 1]) == ["eve", "ann", "dan"]
    assert [p.get_height() for p in axes[0, 1].patches] == [12.0, 3.0, 0.0]
    traffic = [p.get_height() for p in axes[2, 0].patches]
    assert traffic == pytest.approx([2100.0 * 1024**2, 0.011 * 1024**2])
    # the smallest positive bar is inside the log axis
    assert axes[3, 0].get_ylim()[0] < 5


def test_select_users_reuses_the_panels() -> None:
    [named] = build_figures("select-users", summary_frame().head(2))
    assert named.name == "select-users"
    assert len(named.figure.axes) == 10


def test_log_ecdf_keeps_zeros_in_the_denominator() -> None:
    _fig, axes = new_figure()
    ax = axes[0, 0]
    n = plot_log_ecdf(ax, np.array([0.0, 0.0, 1.0, 10.0]))
    assert n == 4
    line = ax.get_lines()[0]
    assert line.get_xdata().tolist() == [1.0, 10.0]
    assert line.get_ydata().tolist() == [0.75, 1.0]
    assert ax.get_xscale() == "log"


def test_dns_http_delay_cdf_ticks_and_match_share() -> None:
    pairs = pd.DataFrame({"devid": 1, "dns_ts": pd.Timestamp("2015-01-01"), "query": "a.com",
                          "http_ts": pd.NaT, "delay_s": [0.002, 0.5, 2.0, 90.0, np.nan]})
    [named] = build_figures("dns-http", pairs)
    ax = named.figure.axes[0]
    assert ax.get_xscale() == "log"
    assert tick_labels(ax) == ["1ms", "100ms", "1s", "1min", "10min"]
    assert ax.get_ylabel() == "CDF"
    assert "Delay" in ax.get_xlabel()
    assert "4 of 5 responses, 80.0%" in ax.get_title()
    assert ax.get_lines()[0].get_ydata().tolist() == [0.25, 0.5, 0.75, 1.0]


def test_inter_event_triptych_zooms_at_one_and_ten_minutes() -> None:
    iats = pd.DataFrame({"username": ["u"] * 6 + ["v"] * 2,
                         "iat_s": [0.5, 30.0, 60.0, 120.0, 600.0, 40000.0, 1.0, 2.0],
                         "count": [1, 1, 2, 1, 1, 1, 1, 1]})
    figures = build_figures("inter-event", iats, ctx=FigureContext(focus_users=["u"]))
    assert [f.name for f in figures] == ["inter-event-all", "inter-event-u"]
    assert len(figures[0].figure.axes[0].get_lines()) == 2
    full, zoom1, zoom2 = figures[1].figure.axes
    assert "[7 values]" in full.get_title() and "events=8" in figures[1].figure.get_suptitle()
    assert "[5 values]" in zoom1.get_title() and "[2 values]" in zoom2.get_title()
    assert zoom1.get_lines()[0].get_ydata().tolist() == [0.4, 0.6, 0.8, 1.0]
    assert zoom1.get_xlim()[0] == 60.0 and zoom2.get_xlim()[0] == 600.0
    assert tick_labels(zoom2)[:3] == ["10min", "1h", "3h"]
    assert 43200.0 in zoom2.get_xticks()  # 12 h is 43200 s (the notebook put it at 12*2600)
    assert zoom2.get_lines()[0].get_ydata().tolist() == [0.5, 1.0]


def test_week_heatmap_rows_in_analysis_order_with_weekday_ticks() -> None:
    rows = [("zed", b, 100.0 if b == 3 else 0.0) for b in range(84)] + [("amy", 0, 100.0)]
    frame = pd.DataFrame(rows, columns=["username", "bin", "share_pct"])
    [named] = build_figures("heatmap", frame, SimpleNamespace(by="week", bin=0, of="bytes"))
    ax = named.figure.axes[0]
    assert tick_labels(ax) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert ax.get_xticks().tolist() == [0.0, 12.0, 24.0, 36.0, 48.0, 60.0, 72.0]
    assert tick_labels(ax, "y") == ["zed", "amy"]
    mesh = ax.collections[0].get_array().reshape(2, 84)
    assert mesh[0, 3] == 100.0 and mesh[1, 0] == 100.0 and mesh.sum() == 200.0
    assert "local time" in ax.get_xlabel()


def test_hour_heatmap_one_figure_per_day_class() -> None:
    days = ("all", "weekend", "weekday")  # drawn weekday, weekend, all whatever the table order
    frame = pd.DataFrame([(d, "amy", h, 100.0 / 24) for d in days for h in range(24)],
                         columns=["days", "username", "bin", "share_pct"])
    figures = build_figures("heatmap", frame, SimpleNamespace(by="hour", bin=60, of="events"))
    assert [f.name for f in figures] == ["heatmap-hour-weekday", "heatmap-hour-weekend", "heatmap-hour-all"]
    ax = figures[1].figure.axes[0]
    assert ax.get_title() == "Events per hour of day, weekends (local time)"
    assert ax.get_xlabel() == "Hour of day (local time)"
    assert tick_labels(ax)[:3] == ["00h", "03h", "06h"]


def timeline_frame() -> pd.DataFrame:
    rows = [("amy", "amy.phone", "iphone", "traffic", "2015-03-27", 9, 30, 40),
            ("amy", "amy.phone", "iphone", "dns", "2015-03-27", 9, 30, 2),
            ("amy", "amy.laptop", "macbook", "traffic", "2015-03-28", 22, 15, 60),
            ("amy", "amy.laptop", "macbook", "http", "2015-03-28", 22, 15, 7)]
    return pd.DataFrame(rows, columns=["username", "login", "platform", "kind", "local_date", "hour",
                                       "minute", "events"])


def test_timeline_has_four_panels_in_hours_of_the_day() -> None:
    [named] = build_figures("timeline", timeline_frame())
    axes = named.figure.axes
    assert len(axes) == 4
    assert [ax.get_title() for ax in axes] == ["Device traffic (seconds with packets)", "DNS responses",
                                               "HTTP requests", "User HTTP requests (user_url)"]
    assert all(ax.get_ylim() == (0.0, 24.0) and ax.get_ylabel() == "Hour of day (local)" for ax in axes)
    assert axes[-1].get_xlabel() == "Local date"
    traffic = {c.get_label(): c.get_offsets() for c in axes[0].collections}
    assert set(traffic) == {"amy.laptop [macbook] (60)", "amy.phone [iphone] (40)"}
    laptop, phone = traffic["amy.laptop [macbook] (60)"], traffic["amy.phone [iphone] (40)"]
    assert laptop[0, 1] == 22.25 and phone[0, 1] == 9.5
    # each day is a column [day, day + 1): the laptop's slot is left of the phone's
    assert mdates.num2date(phone[0, 0]).strftime("%Y-%m-%d") == "2015-03-27"
    assert mdates.num2date(laptop[0, 0]).strftime("%Y-%m-%d") == "2015-03-28"
    assert laptop[0, 0] % 1 == pytest.approx(0.3) and phone[0, 0] % 1 == pytest.approx(0.7)
    assert axes[-1].get_xlim() == (mdates.date2num(pd.Timestamp("2015-03-27")),
                                   mdates.date2num(pd.Timestamp("2015-03-29")))
    assert axes[3].texts[0].get_text() == "no events"


def test_timeline_reduction_keeps_one_point_per_day_and_five_minutes() -> None:
    day = np.array([5.0, 5.0, 5.0, 5.0, 6.0])
    hour = np.array([1.0, 1.05, 1.1, 23.99, 1.0])
    rd, rh = reduce_points(day, hour)
    assert sorted(zip(rd.tolist(), rh.tolist(), strict=True)) == [(5.0, 1.0), (5.0, 1.1), (5.0, 23.99),
                                                                 (6.0, 1.0)]


def activities_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "username": ["amy", "amy", "amy", "bob"],
        "start": ["2015-03-27T10:00:00.000000Z", "2015-03-29T10:00:00.000000Z",
                  "2015-03-30T22:30:00.000000Z", "2015-03-27T10:00:00.000000Z"],
        "end": ["2015-03-27T10:10:00.000000Z", "2015-03-29T10:01:00.000000Z",
                "2015-03-30T23:30:00.000000Z", "2015-03-27T10:00:05.000000Z"],
        "duration_s": [600.0, 60.0, 3600.0, 5.0], "events": [10, 3, 40, 3],
        "devices": ["amy.laptop", "amy.laptop+amy.phone", "amy.phone", "bob.pc"],
    })


def test_activity_figures_per_user_and_local_start_hours() -> None:
    ctx = FigureContext(focus_users=["amy"], timezones={"amy": "Europe/Paris"})
    figures = build_figures("activities", activities_frame(), ctx=ctx)
    assert [f.name for f in figures] == ["activities-all", "activities-amy", "activity-map-amy"]
    cdf, hist, scatter = figures[1].figure.axes
    assert cdf.get_xscale() == "log" and scatter.get_xscale() == "log"
    assert "1min" in tick_labels(cdf) and "1h" in tick_labels(scatter)
    assert hist.get_xlabel() == "Events per activity" and sum(p.get_height() for p in hist.patches) == 3
    assert scatter.get_ylabel() == "Events"
    [ax] = figures[2].figure.axes
    assert ax.get_ylabel() == "Start hour (Europe/Paris)"
    points = {c.get_label().split(" ")[0]: c.get_offsets() for c in ax.collections}
    assert set(points) == {"amy.laptop", "amy.phone"}
    # 10:00 UTC is 11:00 in Paris before 29 March 2015 (CET) and 12:00 from then (CEST)
    assert sorted(points["amy.laptop"][:, 1].tolist()) == [11.0, 12.0]
    assert sorted(points["amy.phone"][:, 1].tolist()) == [0.5, 12.0]
    assert mdates.num2date(points["amy.phone"][:, 0].max()).day == 31  # 00:30 local on 31 March


def test_traffic_by_port_bars_are_the_shares() -> None:
    ports = pd.DataFrame({"dstport": [443, 80], "service": ["HTTPS", None], "bytes_in": [9, 1],
                          "bytes_out": [1, 1], "packets_in": [5, 5], "packets_out": [5, 5],
                          "bytes": [10, 2], "packets": [10, 10], "bytes_pct": [83.3, 16.7],
                          "packets_pct": [50.0, 50.0]})
    [named] = build_figures("traffic-by-port", ports)
    left, right = named.figure.axes
    assert [p.get_width() for p in left.patches] == [83.3, 16.7]
    assert tick_labels(left, "y") == ["443 HTTPS", "80"]
    assert left.yaxis_inverted() and right.yaxis_inverted()  # largest share on top in both panels
    assert [t.get_text() for t in left.texts] == ["83.3%", "16.7%"]
    assert left.get_xlabel() == "Share of all bytes (%)" and right.get_xlabel() == "Share of all packets (%)"


def test_user_agents_null_family_is_its_own_bar() -> None:
    uas = pd.DataFrame({"req_ua": ["Mozilla/5.0 Chrome", None], "requests": [3, 1],
                        "browser": ["Chrome", None], "os": ["Windows", None]})
    [named] = build_figures("user-agents", uas)
    browser, os_ax = named.figure.axes
    assert tick_labels(browser, "y") == ["Chrome", "(no User-Agent)"]
    assert [p.get_width() for p in os_ax.patches] == [75.0, 25.0]


def test_activity_context_counts_each_item_once_per_activity() -> None:
    table = pd.DataFrame({"locations": ["Faraday Road, Nottingham; Work", "Faraday Road, Nottingham", ""],
                          "networks": ["Orange", "JANET; Orange", "JANET"],
                          "top_domains": ["bbc.co.uk (12), google.com (3)", "", "bbc.co.uk (1)"]})
    [named] = build_figures("activity-context", table)
    loc, net, dom = named.figure.axes
    assert tick_labels(loc, "y") == ["Faraday Road, Nottingham", "Work"]
    assert [p.get_width() for p in loc.patches] == pytest.approx([200 / 3, 100 / 3])
    assert [p.get_width() for p in net.patches] == pytest.approx([200 / 3, 200 / 3])
    assert tick_labels(dom, "y") == ["bbc.co.uk", "google.com"]
    assert [p.get_width() for p in dom.patches] == pytest.approx([200 / 3, 100 / 3])


def test_overlays_span_every_user_with_distinct_colours() -> None:
    rows = [(f"user{i:02d}", 10.0 ** (i % 6), 1) for i in range(12)] + [("user00", 0.002, 1)]
    iats = pd.DataFrame(rows, columns=["username", "iat_s", "count"])
    [overlay] = build_figures("inter-event", iats, ctx=FigureContext(focus_users=[]))
    ax = overlay.figure.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 12
    assert len({tuple(line.get_color()) for line in lines}) == 12
    assert ax.get_xlim() == (0.001, 3 * 86400.0)  # from the 1ms tick to the 3days tick above 1e5 s
    assert len(ax.get_legend().get_texts()) == 12


@pytest.mark.parametrize("name", sorted(ANALYSIS_NAMES))
def test_every_builder_draws_an_empty_result(name: str) -> None:
    """A study without data gives empty tables (with the analysis's columns): still a figure."""
    import importlib

    module = importlib.import_module(f"ucnstudy.analyses.{name.replace('-', '_')}")
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in module.COLUMNS})
    figures = build_figures(name, empty, SimpleNamespace(by="hour", bin=0, of="bytes"))
    assert figures and all(f.figure.axes for f in figures)
    for named in figures:
        named.figure.savefig(io.BytesIO(), format="png")


def visible_axes(named) -> list:
    return [ax for ax in named.figure.axes if ax.get_visible()]


def test_report_timelines_are_one_panel_per_focus_user_and_few_detailed() -> None:
    """With a detail limit (the report): one small-multiples figure with a panel for every focus
    user (their devices' active cells, any kind of event), then detailed figures for the first."""
    extra = [(u, f"{u}.pc", "windows-pc", "dns", "2015-03-28", 8, 0, 3)
             for u in ("bob", "cy", "dee", "eli", "fay")]
    frame = pd.concat([timeline_frame(), pd.DataFrame(extra, columns=timeline_frame().columns)])
    ctx = FigureContext(focus_users=["fay", "amy", "bob", "cy", "dee", "eli"], detail_users=1)
    figures = build_figures("timeline", frame, ctx=ctx)
    assert [f.name for f in figures] == ["timeline-users", "timeline-amy"]
    panels = visible_axes(figures[0])
    assert len(figures[0].figure.axes) == 10 and len(panels) == 6  # 5 columns, 2 rows
    assert [ax.get_title() for ax in panels] == [
        "amy (2 devices, 109)", "bob (1 devices, 3)", "cy (1 devices, 3)", "dee (1 devices, 3)",
        "eli (1 devices, 3)", "fay (1 devices, 3)"]
    laptop, phone = (c.get_offsets() for c in panels[0].collections)  # devices sorted by login
    # traffic and DNS (or HTTP) in the same 5-minute cell of a device: one point
    assert laptop.tolist() == [[mdates.date2num(pd.Timestamp("2015-03-28")) + 0.1 + 0.2, 22.25]]
    assert phone.tolist() == [[mdates.date2num(pd.Timestamp("2015-03-27")) + 0.1 + 0.6, 9.5]]
    assert panels[0].get_ylim() == (0.0, 24.0) and panels[-1].get_xlabel() == "Local date"
    # the panel above a hidden cell labels its dates too
    assert all(ax.xaxis.get_tick_params()["labelbottom"] for ax in panels[1:])
    assert [f.name for f in build_figures("timeline", frame, ctx=FigureContext(focus_users=["bob"]))] \
        == ["timeline-bob"]  # no limit (the API): detailed figures only, as before


def test_report_inter_event_panels_hold_each_users_three_ecdfs() -> None:
    iats = pd.DataFrame({"username": ["u"] * 6 + ["v"] * 2,
                         "iat_s": [0.5, 30.0, 60.0, 120.0, 600.0, 40000.0, 1.0, 2.0],
                         "count": [1, 1, 2, 1, 1, 1, 1, 1]})
    figures = build_figures("inter-event", iats, ctx=FigureContext(focus_users=["v", "u"], detail_users=0))
    assert [f.name for f in figures] == ["inter-event-all", "inter-event-users"]
    v, u = visible_axes(figures[1])
    assert u.get_title() == "u [7 / 5 / 2]" and v.get_title() == "v [2 / 0 / 0]"
    everything, above_1min, above_10min = u.get_lines()
    assert everything.get_ydata().tolist() == [1 / 7, 2 / 7, 4 / 7, 5 / 7, 6 / 7, 1.0]
    assert above_1min.get_ydata().tolist() == [0.4, 0.6, 0.8, 1.0]  # the triptych's zoom
    assert above_10min.get_ydata().tolist() == [0.5, 1.0]
    assert len(v.get_lines()) == 1  # no gap of v reaches 1 min: no tail line, ticks kept
    assert u.get_xlim() == (0.1, 43200.0) and "1min" in tick_labels(v)  # 100ms to 12h, as the triptych
    assert [t.get_text() for t in figures[1].figure.legends[0].get_texts()] == [
        "all gaps", "gaps ≥ 1 min", "gaps ≥ 10 min"]


def test_report_activity_panels_hold_every_activity_of_each_user() -> None:
    ctx = FigureContext(focus_users=["amy", "bob"], timezones={"amy": "Europe/Paris"}, detail_users=1)
    figures = build_figures("activities", activities_frame(), ctx=ctx)
    assert [f.name for f in figures] == ["activities-all", "activities-users", "activity-map-users",
                                         "activities-amy", "activity-map-amy"]
    amy, bob = visible_axes(figures[1])
    assert amy.get_title() == "amy (3 activities)" and bob.get_title() == "bob (1 activities)"
    assert amy.collections[0].get_offsets().tolist() == [[600.0, 10.0], [60.0, 3.0], [3600.0, 40.0]]
    assert amy.get_xscale() == "log" and "1h" in tick_labels(bob)
    amy_map, bob_map = visible_axes(figures[2])
    assert amy_map.get_title() == "amy (2 devices, 3 activities)"
    hours = sorted(h for c in amy_map.collections for h in c.get_offsets()[:, 1].tolist())
    assert hours == [0.5, 11.0, 12.0, 12.0]  # local (Paris) start hours, once per device
    assert bob_map.collections[0].get_offsets()[:, 1].tolist() == [10.0]  # UTC without a zone
