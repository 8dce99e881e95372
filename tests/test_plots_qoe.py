"""QoE figures on small hand-made frames: panels, legends, plotted values, the context matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ucnstudy.plots import build_figures


def acts() -> pd.DataFrame:
    return pd.DataFrame({
        "username": ["ann", "ann", "ann", "bob", "bob"],
        "duration_s": [60.0, 600.0, 3600.0, 120.0, 30.0],
        "network_type": ["home", "home", "cellular", "work", "unknown"],
        "device_type": ["phone", "laptop", "phone", "pc", "phone"],
        "rtt_access_ms": [5.0, 6.0, 50.0, None, 1.0],
        "rtt_internet_ms": [20.0, 21.0, 22.0, 19.0, None],
    })


def test_activity_qoe_figures() -> None:
    cdfs, rtt, matrix = build_figures("activity-qoe", acts())
    by_net, by_dev = cdfs.figure.axes
    assert [t.get_text() for t in by_net.get_legend().get_texts()] == [
        "home (2)", "work (1)", "cellular (1)", "unknown (1)"]
    assert [t.get_text() for t in by_dev.get_legend().get_texts()] == [
        "laptop (1)", "pc (1)", "phone (3)"]
    access = rtt.figure.axes[0]
    assert access.get_xscale() == "log" and access.get_yscale() == "log"
    points = np.concatenate([c.get_offsets() for c in access.collections])
    assert sorted(points[:, 0].tolist()) == [1.0, 5.0, 6.0, 50.0]  # activities with an access RTT
    ax = matrix.figure.axes[0]
    image = ax.get_images()[0].get_array()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ann", "bob"]
    assert np.allclose(image.sum(axis=1), 1.0)  # shares of each user's activities
    assert "phone / home" in [t.get_text() for t in ax.get_xticklabels()]


def test_qoe_effects_figure_marks_tests() -> None:
    effects = pd.DataFrame({
        "measure": ["duration_s"] * 3 + ["bytes"], "factor": ["loss_class"] * 4,
        "level": ["high"] * 4, "reference": ["low"] * 4, "username": ["a", "b", "(all users)", "a"],
        "ratio": [0.4, 1.1, 0.7, 2.0], "p_value": [0.001, 0.6, None, 0.5],
    })
    [named] = build_figures("qoe-effects", effects)
    ax = named.figure.axes[0]
    assert len(ax.get_yticklabels()) == 3  # durations only
    sizes = [len(c.get_offsets()) for c in ax.collections]
    assert sizes == [1, 1, 1]  # significant, not significant, too few to test
