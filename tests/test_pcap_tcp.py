"""TCP performance columns of `flows` from captures: crafted connections with known losses and
delays, tshark's own analysis of the same packets (crafted, random and real captures), the
compiled scan against its Python definition, bounded per-flow state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pcap_helpers import parse_capture, write_pcap
from tcp_scenarios import MSS, Conn, lossy_transfer, ordered, tshark_flows
from ucnstudy.sources.pcap.capture import CaptureImport, CaptureOptions, guess_addresses
from ucnstudy.sources.pcap.tcpperf import TcpTracker, compiled_scan

REAL = Path("/work/shared/data/real/pcap")
COUNTED = ("retrans_pkts", "retrans_bytes", "dupacks", "ooo_pkts", "zerowin")


def tcp_flows(path: Path) -> dict[tuple[int, int], dict[str, object]]:
    tables, _ = parse_capture(path)
    flows = tables["flows"].filter(pa.compute.equal(tables["flows"]["proto"], 6))
    return {(r["srcport"], r["dstport"]): r for r in flows.to_pylist()}


def crafted(tmp_path: Path) -> Path:
    """Handshake 30 ms + 5 ms; a request resent after a timeout; a burst of 10 segments with the
    4th lost before the capture point (6 duplicate ACKs, a fast retransmission); two segments
    swapped; a zero-window ACK."""
    c = Conn()
    c.handshake(0, 30, 5, 1000, 5000)
    c.out(40, 1001, 5001, 300)
    c.out(240, 1001, 5001, 300)
    c.inn(270, 5001, 1301)
    for i in range(10):
        if i != 3:
            c.inn(300 + i * 0.1, 5001 + i * MSS, 1301, MSS)
            c.out(300 + i * 0.1 + 0.05, 1301, 5001 + min(i + 1, 3) * MSS)
    c.inn(301.5, 5001 + 3 * MSS, 1301, MSS)
    c.out(301.6, 1301, 5001 + 10 * MSS)
    c.inn(400, 5001 + 11 * MSS, 1301, MSS)
    c.inn(400.5, 5001 + 10 * MSS, 1301, MSS)
    c.out(401, 1301, 5001 + 12 * MSS, win=0)
    return write_pcap(tmp_path / "crafted.pcap", ordered([c]))


def test_crafted_losses_and_delays(tmp_path: Path) -> None:
    (row,) = tcp_flows(crafted(tmp_path)).values()
    assert row["hs_rtt_internet_ms"] == pytest.approx(30) and row["hs_rtt_access_ms"] == pytest.approx(5)
    # the request's only ACK covers a resent segment: no internet sample (Karn)
    assert row["rtt_internet_n"] == 0 and row["rtt_internet_mean_ms"] is None
    # access: three 0.05 ms ACKs, the burst's end 0.7 ms after it was sent, the swapped pair 1 ms
    assert row["rtt_access_n"] == 5
    assert row["rtt_access_min_ms"] == pytest.approx(0.05)
    assert row["rtt_access_max_ms"] == pytest.approx(1.0)
    assert row["rtt_access_mean_ms"] == pytest.approx((3 * 0.05 + 0.7 + 1.0) / 5)
    assert (row["retrans_pkts_out"], row["retrans_bytes_out"]) == (1, 300)
    assert (row["retrans_pkts_in"], row["retrans_bytes_in"]) == (1, MSS)
    assert (row["dupacks_out"], row["dupacks_in"]) == (6, 0)
    assert (row["ooo_pkts_out"], row["ooo_pkts_in"]) == (0, 1)
    assert (row["zerowin_out"], row["zerowin_in"]) == (1, 0)


def test_bulk_and_application_limited(tmp_path: Path) -> None:
    """Ten full-size segments 0.1 ms apart, a 500 ms pause (longer than the 35 ms RTT), then a
    short segment 0.1 ms later and another full one: bulk = the 9 gaps in the burst."""
    c = Conn()
    c.handshake(0, 30, 5, 1000, 5000)
    times = [100 + 0.1 * i for i in range(10)] + [600.9, 601.0, 601.1]
    lengths = [MSS] * 10 + [MSS, 200, MSS]
    seq = 5001
    for ms, n in zip(times, lengths, strict=True):
        c.inn(ms, seq, 1001, n)
        seq += n
    (row,) = tcp_flows(write_pcap(tmp_path / "bulk.pcap", ordered([c]))).values()
    # gaps: 9 x 0.1 ms bulk; 500 ms after a full segment but > RTT: limited; 0.1 ms after a full
    # segment: bulk (the 200-byte one); 0.1 ms after the short one: limited
    assert row["bulk_secs_in"] == pytest.approx(0.0010)
    assert row["bulk_bytes_in"] == 9 * MSS + 200
    assert row["applimited_secs_in"] == pytest.approx(0.5001)
    assert (row["bulk_secs_out"], row["applimited_secs_out"], row["bulk_bytes_out"]) == (0, 0, 0)


def assert_like_tshark(ours: dict[str, object], theirs: dict[str, object]) -> None:
    for name in COUNTED:
        for d in ("out", "in"):
            assert ours[f"{name}_{d}"] == theirs[f"{name}_{d}"], f"{name}_{d}"
    for side in ("internet", "access"):
        kept = [v for s, v in theirs["karn"] if s == f"rtt_{side}"]
        assert ours[f"rtt_{side}_n"] == len(kept)
        if kept:
            assert ours[f"rtt_{side}_min_ms"] == pytest.approx(min(kept), abs=1e-6)
            assert ours[f"rtt_{side}_max_ms"] == pytest.approx(max(kept), abs=1e-6)
            assert ours[f"rtt_{side}_mean_ms"] == pytest.approx(sum(kept) / len(kept), abs=1e-6)
    if theirs["initial_rtt"] is not None and ours["hs_rtt_access_ms"] is not None:
        assert ours["hs_rtt_internet_ms"] + ours["hs_rtt_access_ms"] == pytest.approx(
            theirs["initial_rtt"], abs=1e-6)


def test_crafted_like_tshark(tmp_path: Path) -> None:
    path = crafted(tmp_path)
    theirs = tshark_flows(path)
    for key, ours in tcp_flows(path).items():
        assert_like_tshark(ours, theirs[key])


@pytest.mark.parametrize("name", ["http_espn.pcapng", "wikipedia.pcap"])
def test_real_captures_like_tshark(name: str) -> None:
    ours = tcp_flows(REAL / name)
    device = "172.16.0.122" if name.startswith("http") else "141.142.220.118"
    theirs = tshark_flows(REAL / name, device)
    assert set(ours) <= set(theirs)
    samples = sum(r["rtt_internet_n"] + r["rtt_access_n"] for r in ours.values())
    assert samples >= 30  # the comparison is not vacuous
    for key, row in ours.items():
        assert_like_tshark(row, theirs[key])


@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # tshark runs: no shrinking
@given(n=st.integers(3, 20), data=st.data(), fast=st.booleans(), spurious=st.booleans())
def test_random_loss_and_reordering_like_tshark(tmp_path: Path, n: int, data: st.DataObject,
                                                fast: bool, spurious: bool) -> None:
    dropped = data.draw(st.sets(st.integers(0, n - 1), max_size=n // 2))
    swapped = data.draw(st.sets(st.integers(0, n - 2), max_size=n // 3))
    path = write_pcap(tmp_path / "random.pcap",
                      ordered([lossy_transfer(n, dropped, swapped - dropped, fast, spurious)]))
    ((key, ours),) = tcp_flows(path).items()
    assert_like_tshark(ours, tshark_flows(path)[key])
    holes = {i for i in dropped if any(j > i and j not in dropped for j in range(n))}
    # a resent segment is out of order when it comes within the initial RTT of the newest one
    assert ours["retrans_pkts_in"] + ours["ooo_pkts_in"] >= len(holes) + spurious


def random_packets(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(1, 60))
    base = draw(st.integers(0, 2**32 - 1))
    ints = st.integers
    cols = {
        "h": np.array(draw(st.lists(ints(0, 3), min_size=n, max_size=n)), np.uint64),
        "t": np.cumsum(draw(st.lists(ints(0, 400_000_000), min_size=n, max_size=n))),
        "d": np.array(draw(st.lists(ints(0, 1), min_size=n, max_size=n))),
        "seq": (base + np.array(draw(st.lists(ints(0, 5000), min_size=n, max_size=n)))) % 2**32,
        "ack": (base + np.array(draw(st.lists(ints(0, 5000), min_size=n, max_size=n)))) % 2**32,
        "flags": np.array(draw(st.lists(st.sampled_from([2, 18, 16, 24, 17, 4, 20, 1]),
                                        min_size=n, max_size=n))),
        "win": np.array(draw(st.lists(st.sampled_from([0, 1, 65535]), min_size=n, max_size=n))),
        "seglen": np.array(draw(st.lists(st.sampled_from([0, 1, 100, 1448, 3000]),
                                         min_size=n, max_size=n))),
    }
    return {k: np.asarray(v, np.uint64 if k == "h" else np.int64) for k, v in cols.items()}


@pytest.mark.skipif(compiled_scan is None, reason="the compiled scan is not built")
@settings(max_examples=300, deadline=None)
@given(blocks=st.lists(st.composite(random_packets)(), min_size=1, max_size=3))
def test_compiled_scan_is_the_definition(blocks: list[dict[str, np.ndarray]]) -> None:
    trackers = [TcpTracker(300_000_000, compiled=c) for c in (True, False)]
    for block in blocks:
        for tr in trackers:
            tr.add(**{k: v.copy() for k, v in block.items()})
    compiled, python = trackers
    assert compiled.active.keys() == python.active.keys()
    for key, row in compiled.active.items():
        assert np.array_equal(compiled.rows[row], python.rows[python.active[key]])
    assert compiled.ended.keys() == python.ended.keys()
    for key, parts in compiled.ended.items():
        assert all(np.array_equal(a, b) for a, b in zip(parts, python.ended[key], strict=True))


def test_state_is_released_with_the_flow(tmp_path: Path) -> None:
    """3,000 short connections over two hours: the flows are written as they end, and the
    tracker's rows stay at the connections of one idle timeout (300 s), not the file's."""
    conns = []
    for k in range(3000):
        c = Conn(sport=10000 + k % 20000)
        start = k * 2400.0  # one connection every 2.4 s
        c.handshake(start, 20, 1, 1000, 5000)
        c.out(start + 22, 1001, 5001, 200)
        c.inn(start + 42, 5001, 1201, 500, flags=0x18)
        c.out(start + 43, 1201, 5501, flags=0x11)
        c.inn(start + 63, 5501, 1202, flags=0x11)
        c.out(start + 64, 1202, 5502)
        conns.append(c)
    path = write_pcap(tmp_path / "many.pcap", ordered(conns))
    capture = CaptureImport(CaptureOptions(1, block_bytes=64 * 1024), guess_addresses(str(path)),
                            lambda m, p: None)
    peak = 0
    flows = 0
    for name, rows in capture.run(str(path), lambda n: None):
        peak = max(peak, len(capture.tcp.active))
        flows += rows.num_rows if name == "flows" else 0
    assert flows == 3000
    assert peak <= (300 + 120) / 2.4 + 300  # within timeout + lateness, plus one block
    assert len(capture.tcp.active) == 0 and not capture.tcp.ended


def test_ucn_command_exits_with_its_code_and_output(tmp_path: Path) -> None:
    """`ucn` (cli.run) skips the interpreter teardown but keeps the exit status, the error line
    and the result printed by the command."""
    import subprocess
    import sys

    path = crafted(tmp_path)
    cmd = [sys.executable, "-c", "from ucnstudy.cli import run; run()", "--db",
           str(tmp_path / "s.duckdb")]
    bad = subprocess.run([*cmd, "import", "pcap", "--device", "nobody", str(path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr
    help_ = subprocess.run([*cmd, "import", "pcap", "--help"], capture_output=True, text=True)
    assert help_.returncode == 0 and "--device" in help_.stdout


def test_pieces_of_one_flow_merge() -> None:
    """Measures split off by out-of-order times add up: counts sum, RTT n/sum/min/max combine,
    the first handshake keeps its direction."""
    from ucnstudy.sources.pcap import tcpscan as T
    from ucnstudy.sources.pcap.tcpperf import merge

    first, second = T.new_row()[:T.ACCUMULATED], T.new_row()[:T.ACCUMULATED]
    second[[T.HS1, T.HS2, T.SYN_DIR]] = 30_000, 5_000, 1
    for row, samples in ((first, [4_000, 9_000]), (second, [2_000])):
        for value in samples:
            T.sample(row, T.RTT, value)
    first[T.COUNT:T.ACCUMULATED] = np.arange(16)
    second[T.COUNT:T.ACCUMULATED] = 1
    m = merge([first, second])
    assert list(m[T.RTT:T.RTT + 4]) == [3, 15_000, 2_000, 9_000]
    assert list(m[[T.HS1, T.HS2, T.SYN_DIR]]) == [30_000, 5_000, 1]
    assert list(m[T.COUNT:T.ACCUMULATED]) == list(range(1, 17))
