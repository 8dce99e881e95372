"""qoe-effects: do device, network and QoS change activities? Per user and over all users.

From the rows of activity-qoe (one portable query), activity duration and size (bytes) are
compared between the levels of each factor: device type, network type, and the RTT and loss
class of the network when the activity began (the net_* columns of activity-qoe). Classes are
fixed bounds by default (`loss_bounds`, `rtt_bounds`) or terciles within each user, device type
and network type. The QoS factors compare each activity's duration and size divided by the
median of its (user, device type, network type) stratum (measures `duration_rel`, `bytes_rel`),
so that poor QoS met on another device or network is not mistaken for its effect. Within a user
each level is compared with the reference level (the most common device or network type over
all users, the low QoS class) by a two-sided Mann-Whitney U test; over all users the per-user
log ratios of medians are tested against 0 by a Wilcoxon signed-rank test (a paired,
within-user test). docs/analyses.md says why. A cell with fewer activities (or users) than the
minimum gets no test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ucnstudy.analyses.activity_qoe import ActivityQoeParams, activity_qoe_expr
from ucnstudy.analyses.common import query_frame
from ucnstudy.analyses.registry import analysis
from ucnstudy.lazy import np, pd, stats
from ucnstudy.params import ParameterError

if TYPE_CHECKING:
    from ucnstudy.store import Study

COLUMNS = ["scope", "username", "factor", "level", "reference", "measure", "users", "n", "n_ref",
           "median", "median_ref", "ratio", "effect", "test", "p_value", "note"]
FACTORS = ("device_type", "network_type", "rtt_class", "loss_class")
MEASURES = ("duration_s", "bytes")
QOS_FACTORS = ("rtt_class", "loss_class")
RELATIVE = {"duration_s": "duration_rel", "bytes": "bytes_rel"}  # the QoS factors' measures
CLASSES = ("low", "mid", "high")
STRATA = ("username", "device_type", "network_type")  # terciles and relative measures
ALL = "(all users)"
MANN_WHITNEY, WILCOXON = "mann-whitney-u", "wilcoxon-signed-rank"


@dataclass(frozen=True)
class QoeEffectsParams(ActivityQoeParams):
    min_activities: int = field(default=10, metadata={
        "help": "fewest activities in each of the two compared cells for a test"})
    min_users: int = field(default=5, metadata={
        "help": "fewest users with both cells for the test over all users"})
    min_packets: int = field(default=50, metadata={
        "help": "fewest TCP packets around an activity's start for an RTT and loss class"})
    qos_classes: Literal["bounds", "terciles"] = field(default="bounds", metadata={
        "help": "QoS classes from fixed bounds (loss-bounds, rtt-bounds) or from terciles within "
                "each user, device type and network type"})
    loss_bounds: str = field(default="0.01,0.03", metadata={
        "help": "retransmission rates where the mid and the high loss classes begin"})
    rtt_bounds: str = field(default="20,60", metadata={
        "help": "access RTTs in ms where the mid and the high RTT classes begin"})

    def __post_init__(self) -> None:
        for factor in QOS_FACTORS:  # a wrong bound fails before the query runs
            self.bounds(factor)

    def bounds(self, factor: str) -> tuple[float, float]:
        text = self.loss_bounds if factor == "loss_class" else self.rtt_bounds
        try:
            lo, hi = (float(v) for v in text.split(","))
        except ValueError:
            raise ParameterError(f"{factor.split('_')[0]}-bounds must be two numbers 'MID,HIGH', "
                                 f"not {text!r}") from None
        if not 0 <= lo < hi:
            raise ParameterError(f"{factor.split('_')[0]}-bounds must satisfy 0 <= MID < HIGH, "
                                 f"not {text!r}")
        return lo, hi


def _terciles(acts: pd.DataFrame, value: str) -> pd.Series:
    """low, mid, high: terciles of `value` within each stratum of at least three (ties in time
    order)."""
    out = pd.Series([None] * len(acts), index=acts.index, dtype=object)
    known = acts.dropna(subset=[value])
    for _, idx in known.groupby(list(STRATA), sort=True).groups.items():
        if len(idx) >= len(CLASSES):
            ranks = acts.loc[idx, value].rank(method="first")
            out.loc[idx] = pd.qcut(ranks, len(CLASSES), labels=CLASSES).astype(str)
    return out


def _bounded(values: pd.Series, lo: float, hi: float) -> pd.Series:
    """low below lo, mid from lo to below hi, high from hi; None where unknown."""
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    known = values.notna()
    v = values[known]
    out[known] = np.select([v < lo, v < hi], ["low", "mid"], "high")
    return out


def classify(acts: pd.DataFrame, p: QoeEffectsParams | None = None) -> pd.DataFrame:
    """Add rtt, loss (of the network around the activity's start; the loss only when at least
    `min_packets` TCP packets were seen there), their classes, and the stratum-relative
    measures."""
    p = p or QoeEffectsParams()
    acts = acts.sort_values(["username", "start"], kind="stable").copy()
    measured = acts["net_tcp_packets"] >= p.min_packets
    acts["rtt"] = acts["net_rtt_access_ms"]  # a handshake alone gives an RTT: no packet count
    acts["loss"] = acts["net_retrans_rate"].where(measured)
    for value, out in (("rtt", "rtt_class"), ("loss", "loss_class")):
        acts[out] = (_terciles(acts, value) if p.qos_classes == "terciles"
                     else _bounded(acts[value].astype(float), *p.bounds(out)))
    for measure, rel in RELATIVE.items():
        median = acts.groupby(list(STRATA), sort=False)[measure].transform("median")
        acts[rel] = acts[measure] / median.where(median > 0)
    return acts


def references(acts: pd.DataFrame) -> dict[str, str]:
    """The reference level of each factor: the most common type over all users, low QoS."""
    out = {"rtt_class": "low", "loss_class": "low"}
    for factor in ("device_type", "network_type"):
        counts = acts.loc[acts[factor] != "unknown", factor].value_counts()
        counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        out[factor] = str(counts.index[0]) if len(counts) else ""
    return out


def _cell(values: pd.Series) -> np.ndarray:
    return values.dropna().to_numpy(dtype=float)


def _row(**values: object) -> dict[str, object]:
    return {c: values.get(c) for c in COLUMNS}


def user_comparison(user: str, factor: str, level: str, ref: str, measure: str, x: np.ndarray,
                    y: np.ndarray, p: QoeEffectsParams) -> dict[str, object]:
    """One user's level against the reference: medians, rank-biserial r, Mann-Whitney U."""
    row = _row(scope="user", username=user, factor=factor, level=level, reference=ref,
               measure=measure, users=1, n=x.size, n_ref=y.size,
               median=np.median(x) if x.size else None, median_ref=np.median(y) if y.size else None)
    if x.size and y.size and row["median_ref"]:
        row["ratio"] = float(row["median"]) / float(row["median_ref"])  # type: ignore[arg-type]
    if min(x.size, y.size) < p.min_activities:
        row["note"] = f"too few activities for a test (fewer than {p.min_activities} in a cell)"
        return row
    u = stats.mannwhitneyu(x, y, alternative="two-sided")
    row |= {"effect": 2 * float(u.statistic) / (x.size * y.size) - 1, "test": MANN_WHITNEY,
            "p_value": float(u.pvalue), "note": ""}
    return row


def overall(rows: list[dict[str, object]], factor: str, level: str, ref: str, measure: str,
            cells: dict[str, tuple[np.ndarray, np.ndarray]], p: QoeEffectsParams
            ) -> dict[str, object]:
    """Over users: the per-user log ratios of medians, Wilcoxon signed-rank against 0."""
    tested = [r for r in rows if r["p_value"] is not None and r["ratio"]]
    x = np.concatenate([cells[str(r["username"])][0] for r in tested] or [np.empty(0)])
    y = np.concatenate([cells[str(r["username"])][1] for r in tested] or [np.empty(0)])
    row = _row(scope="all", username=ALL, factor=factor, level=level, reference=ref,
               measure=measure, users=len(tested), n=x.size, n_ref=y.size,
               median=np.median(x) if x.size else None, median_ref=np.median(y) if y.size else None)
    logs = np.log([float(r["ratio"]) for r in tested])  # type: ignore[arg-type]
    if logs.size:
        row["ratio"] = float(np.exp(np.median(logs)))
    if len(tested) < p.min_users:
        row["note"] = f"too few users for a test (fewer than {p.min_users} with both cells tested)"
        return row
    w = stats.wilcoxon(logs)
    row |= {"effect": float(np.median(logs)), "test": WILCOXON, "p_value": float(w.pvalue),
            "note": ""}
    return row


def effects(acts: pd.DataFrame, p: QoeEffectsParams) -> pd.DataFrame:
    """Every (factor, level, measure) per user and over all users."""
    acts = classify(acts, p)
    refs = references(acts)
    out: list[dict[str, object]] = []
    for factor in FACTORS:
        levels = sorted(set(acts[factor].dropna()) - {refs[factor], "unknown", ""})
        measures = [RELATIVE[m] for m in MEASURES] if factor in QOS_FACTORS else MEASURES
        for level in levels:
            for measure in measures:
                rows, cells = [], {}
                for user, mine in acts.groupby("username", sort=True):
                    x = _cell(mine.loc[mine[factor] == level, measure])
                    y = _cell(mine.loc[mine[factor] == refs[factor], measure])
                    if x.size or y.size:
                        cells[str(user)] = (x, y)
                        rows.append(user_comparison(str(user), factor, level, refs[factor],
                                                    measure, x, y, p))
                out += [*rows, overall(rows, factor, level, refs[factor], measure, cells, p)]
    frame_ = pd.DataFrame(out, columns=COLUMNS)
    for col in ("median", "median_ref", "ratio", "effect", "p_value"):
        frame_[col] = frame_[col].astype("float64")
    frame_["note"] = frame_["note"].fillna("")
    frame_["test"] = frame_["test"].fillna("")
    return frame_


@analysis("qoe-effects", QoeEffectsParams)
def qoe_effects(study: Study, params: QoeEffectsParams) -> pd.DataFrame:
    """Effects of device type, network type and QoS class on activity duration and size."""
    return effects(query_frame(study, activity_qoe_expr, params), params)
