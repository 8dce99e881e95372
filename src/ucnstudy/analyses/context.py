"""The network and physical context of a device at a time: network type, access type, mobility.

The network type rule lives here, in one place (`NetworkRules`, documented in docs/analyses.md
"Network type"). A *network observation* is a `locations` row that names a network (an AS name
or a public address: VPN sessions, HostView network records, location apps that log Wi-Fi).
Each observation gets the first rule that applies, and records which one (`network_source`):

1. `label`: its own place label (`loc_name`) is one of the home or work labels;
2. `home-address`: its public address is the user's home address: the public address, outside
   work networks, where the user's devices spent the most time (a cellular address changes);
3. `asname`: its AS name contains a cellular operator's name (cellular), else an institution's
   (work), else it is some other network (public: other or public Wi-Fi).

Networks declared in the `networks` table (the manifest) always win (`network_source`
`declared`). The access type is cellular on a cellular network, else `fixed` for the device
types in `fixed_devtypes` (desktops), else `wifi`; a declared network may state its own.
Everything is an Ibis expression in the portable subset (no engine branches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ucnstudy.analyses.common import elapsed_us
from ucnstudy.lazy import ibis

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from ucnstudy.store import Study

CELLULAR_AS = ("mobile", "cellular", "freem", "ee limited", "vodafone", "telefonica",
               "hutchison", "three", "t-mobile", "bouygtel", "sfr", "orange")
WORK_AS = ("renater", "janet", "university", "universite", "college", "research", "geant")
EARTH_RADIUS_M = 6_371_000.0
DECLARED, UNKNOWN = "declared", "unknown"


def _patterns(text: str) -> tuple[str, ...]:
    return tuple(p.strip().lower() for p in text.split(",") if p.strip())


@dataclass(frozen=True)
class NetworkRules:
    """How the network type is derived (every field can be overridden from the CLI)."""

    cellular_as: str = field(default=",".join(CELLULAR_AS), metadata={
        "help": "comma-separated parts of AS names that make a network cellular (case-insensitive)"})
    work_as: str = field(default=",".join(WORK_AS), metadata={
        "help": "comma-separated parts of AS names of work networks (institutions)"})
    home_labels: str = field(default="home,maison,domicile", metadata={
        "help": "comma-separated place labels meaning home"})
    work_labels: str = field(default="work,office,bureau,travail,university", metadata={
        "help": "comma-separated place labels meaning work"})
    fixed_devtypes: str = field(default="pc", metadata={
        "help": "comma-separated device types on a fixed (wired) access when not cellular"})
    moving_speed: float = field(default=1.0, metadata={
        "help": "m/s between consecutive location fixes above which the user was moving"})
    min_move_m: float = field(default=200.0, metadata={
        "help": "metres between consecutive fixes below which the user did not move"})


def _contains_any(value: ir.StringValue, parts: tuple[str, ...]) -> ir.BooleanValue:
    low = value.lower()
    out: ir.BooleanValue = ibis.literal(False)
    for part in parts:
        out = out | low.contains(part).fill_null(False)
    return out


def _home_addresses(study: Study, obs: ir.Table, rules: NetworkRules) -> ir.Table:
    """(devid, home_ip): each device's users' home address (most time, not a work network)."""
    links = study.table("user_devices")
    cand = obs.filter(obs.net_public_ip.notnull()
                      & ~_contains_any(obs.net_asname.fill_null(""), _patterns(rules.work_as)))
    per = cand.join(links, cand.devid == links.device_id).group_by(
        "user_id", ip=cand.net_public_ip).agg(us=elapsed_us(cand.exittime, cand.entertime).sum())
    w = ibis.window(group_by="user_id", order_by=[ibis.desc("us"), "ip"])
    top = per.mutate(r=ibis.row_number().over(w)).filter(ibis._.r == 0)
    homes = top.join(links, "user_id").select(devid=links.device_id, home_ip=top.ip)
    return homes.distinct()


def network_observations(study: Study, rules: NetworkRules) -> ir.Table:
    """Network periods: devid, valid_from, valid_to, network_type, access_type, network_source,
    network (a name), precedence (0 for declared networks, 1 for derived ones)."""
    loc = study.table("locations")
    obs = loc.filter(loc.net_asname.notnull() | loc.net_public_ip.notnull())
    homes = _home_addresses(study, obs, rules)
    j = obs.left_join(homes, [obs.devid == homes.devid, obs.net_public_ip == homes.home_ip])
    label = j.loc_name.strip().lower()
    asname = j.net_asname.fill_null("")
    cellular = _contains_any(asname, _patterns(rules.cellular_as))
    home_label = label.isin(_patterns(rules.home_labels)).fill_null(False)
    work_label = label.isin(_patterns(rules.work_labels)).fill_null(False)
    kind = (ibis.cases((home_label, "home"), (work_label, "work"),
                       (j.home_ip.notnull(), "home"), (cellular, "cellular"),
                       (_contains_any(asname, _patterns(rules.work_as)), "work"), else_="public"))
    source = ibis.cases((home_label | work_label, "label"),
                        (j.home_ip.notnull(), "home-address"), else_="asname")
    derived = j.select(devid=j.devid, valid_from=j.entertime, valid_to=j.exittime,
                       network_type=kind, access_type=ibis.null("string"),
                       network_source=source, network=j.net_asname.fill_null(j.net_public_ip),
                       precedence=ibis.literal(1))
    net = study.table("networks")
    declared = net.select(devid=net.devid, valid_from=net.valid_from, valid_to=net.valid_to,
                          network_type=net.network_type, access_type=net.access_type,
                          network_source=ibis.literal(DECLARED), network=net.name,
                          precedence=ibis.literal(0))
    return _with_access(study, nullable(declared).union(nullable(derived), distinct=False), rules)


def nullable(t: ir.Table) -> ir.Table:
    """t with every column nullable (a union needs identical schemas)."""
    return t.cast(ibis.schema({k: v.copy(nullable=True) for k, v in t.schema().items()}))


def _with_access(study: Study, periods: ir.Table, rules: NetworkRules) -> ir.Table:
    devices = study.table("devices").select(devid=ibis._.id, devtype=ibis._.devtype)
    j = periods.left_join(devices, periods.devid == devices.devid)
    derived = ibis.cases((j.network_type == "cellular", "cellular"),
                         (j.devtype.isin(_patterns(rules.fixed_devtypes)), "fixed"), else_="wifi")
    return j.select("valid_from", "valid_to", "network_type", "network_source", "network", "precedence",
                    devid=periods.devid, access_type=j.access_type.fill_null(derived))


def overlap_us(lo: ir.TimestampValue, hi: ir.TimestampValue, start: ir.TimestampValue,
               end: ir.TimestampValue) -> ir.IntegerValue:
    """Microseconds [lo, hi] and [start, end] have in common (callers keep overlapping pairs)."""
    return elapsed_us(ibis.least(hi, end), ibis.greatest(lo, start))


def _overlapping(t: ir.Table, periods: ir.Table, lo: str, hi: str) -> ir.Table:
    """Pairs of (t row, period) on the same device whose intervals meet; NULL bounds are open."""
    p = periods
    meets = [t.devid == p.devid, p[lo].isnull() | (p[lo] <= t.end),
             p[hi].isnull() | (p[hi] >= t.start)]
    return t.join(p, meets)


def activity_networks(study: Study, devs: ir.Table, rules: NetworkRules) -> ir.Table:
    """username, activity, network_type, access_type, network_source, network: for each activity
    (devs: username, activity, start, end, devid, primary (1 for its main device, else 0)) a
    declared network before a derived one, on the main device before the others, then the one
    that overlaps the activity most."""
    j = _overlapping(devs, network_observations(study, rules), "valid_from", "valid_to")
    lo = j.valid_from.fill_null(j.start)
    hi = j.valid_to.fill_null(j.end)
    j = j.mutate(ov=overlap_us(lo, hi, j.start, j.end))
    w = ibis.window(group_by=["username", "activity"],
                    order_by=["precedence", ibis.desc("primary"), ibis.desc("ov"),
                              "network_type", "access_type"])
    best = j.mutate(r=ibis.row_number().over(w)).filter(ibis._.r == 0)
    return best.select("username", "activity", "network_type", "access_type", "network_source",
                       "network")


def activity_places(study: Study, devs: ir.Table) -> ir.Table:
    """username, activity, place: the labelled place overlapping the activity most on the given
    devices (a label from loc_name before a free-text name)."""
    loc = study.table("locations")
    places = loc.filter((loc.kind.isnull() | (loc.kind == "place"))
                        & (loc.loc_name.notnull() | loc.name.notnull()))
    j = _overlapping(devs, places.select("devid", "entertime", "exittime", "loc_name", "name"),
                     "entertime", "exittime")
    j = j.mutate(ov=overlap_us(j.entertime, j.exittime, j.start, j.end),
                 unlabelled=ibis.ifelse(j.loc_name.isnull(), 1, 0))
    w = ibis.window(group_by=["username", "activity"],
                    order_by=["unlabelled", ibis.desc("ov"), "entertime"])
    best = j.mutate(r=ibis.row_number().over(w)).filter(ibis._.r == 0)
    return best.select("username", "activity", place=best.loc_name.fill_null(best.name))


def travel_periods(study: Study, rules: NetworkRules) -> ir.Table:
    """devid, entertime, exittime of movement: `move` rows, and the gaps between consecutive
    fixes of a device covered faster than `moving_speed` over more than `min_move_m`."""
    loc = study.table("locations")
    moves = loc.filter(loc.kind == "move").select("devid", "entertime", "exittime")
    fixes = loc.filter(loc.lat.notnull() & loc.lon.notnull())
    w = ibis.window(group_by="devid", order_by=["entertime", "exittime"])
    hop = fixes.mutate(plat=fixes.lat.lag().over(w), plon=fixes.lon.lag().over(w),
                       pexit=fixes.exittime.lag().over(w))
    hop = hop.filter(hop.pexit.notnull() & (hop.entertime > hop.pexit))
    metres = haversine_m(hop.plat, hop.plon, hop.lat, hop.lon)
    seconds = elapsed_us(hop.entertime, hop.pexit).cast("float64") / 1e6
    fast = hop.filter((metres > rules.min_move_m) & (metres > rules.moving_speed * seconds))
    hops = fast.select("devid", entertime=fast.pexit, exittime=fast.entertime)
    return nullable(moves).union(nullable(hops), distinct=False)


def haversine_m(lat1: ir.FloatingValue, lon1: ir.FloatingValue, lat2: ir.FloatingValue,
                lon2: ir.FloatingValue) -> ir.FloatingValue:
    """Great-circle distance in metres."""
    dlat = (lat2 - lat1).radians() / 2
    dlon = (lon2 - lon1).radians() / 2
    a = dlat.sin() ** 2 + lat1.radians().cos() * lat2.radians().cos() * dlon.sin() ** 2
    return 2 * EARTH_RADIUS_M * a.sqrt().asin()


def activity_mobility(study: Study, devs: ir.Table, rules: NetworkRules) -> ir.Table:
    """username, activity, moving: true when a travel period of the given devices overlaps the
    activity, false when only fixes (no travel) do, no row when no location is known."""
    loc = study.table("locations").select("devid", "entertime", "exittime")
    travel = travel_periods(study, rules).mutate(travel=ibis.literal(1))
    known = nullable(loc.mutate(travel=ibis.literal(0))).union(nullable(travel), distinct=False)
    j = _overlapping(devs, known, "entertime", "exittime")
    per = j.group_by("username", "activity").agg(moved=j.travel.max())
    return per.select("username", "activity", moving=per.moved == 1)
