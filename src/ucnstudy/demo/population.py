"""Who takes part: households, users, their devices (some shared), VPN address leases, places.

Shaped like the UCN study: users in France (Europe/Paris) and the UK (Europe/London), UK
households split into wife/husband accounts, about two devices per user, and a tablet or laptop
shared by the members of some households. Participants come and go as in the real study (studies
of 7 days or more): some join late, some leave early, some take a holiday with no data, and one
withdraws half-way (their data stops and their VPN leases end then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time

import numpy as np
import pyarrow as pa

from ucnstudy.demo.params import FRANCE_SHARE, DemoParams
from ucnstudy.demo.services import services_for

FAMILIES = {
    "fr": ("martin", "bernard", "dubois", "durand", "lefebvre", "moreau", "laurent", "simon", "michel",
           "garcia", "roux", "fournier", "girard", "bonnet", "dupont", "lambert", "fontaine", "rousseau"),
    "uk": ("smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "evans",
           "walker", "wright", "thompson", "hughes", "edwards", "green", "hall", "wood", "harris"),
}
TIMEZONES = {"fr": "Europe/Paris", "uk": "Europe/London"}
CITIES = {"fr": (("Paris", 48.8566, 2.3522), ("Rennes", 48.1173, -1.6778)),
          "uk": (("Nottingham", 52.9548, -1.1581), ("Derby", 52.9225, -1.4746))}
# (AS number, AS name as RIPEstat gives it, first two octets of its public addresses)
HOME_ISPS = {
    "fr": ((3215, "AS3215 Orange S.A.,FR", "90.3"), (12322, "PROXAD Free SAS,FR", "78.2"),
           (15557, "LDCOMNET Societe Francaise du Radiotelephone - SFR SA,FR", "109.1"),
           (5410, "BOUYGTEL-ISP Bouygues Telecom SA,FR", "89.8")),
    "uk": ((2856, "BT-UK-AS BTnet UK Regional network,GB", "86.1"),
           (5089, "NTL Virgin Media Limited,GB", "82.3"),
           (13285, "OPALTELECOM-AS TalkTalk Communications Limited,GB", "92.2"),
           (5607, "BSKYB-BROADBAND-AS Sky UK Limited,GB", "90.2")),
}
WORK_NETWORKS = {
    "fr": (2200, "FR-RENATER Reseau National de telecommunications pour la Technologie", "193.5"),
    "uk": (786, "JANET Jisc Services Limited,GB", "128.243"),
}
MOBILE_NETWORKS = {
    "fr": ((51207, "FREEM Free Mobile SAS,FR", "37.16"), (3215, "AS3215 Orange S.A.,FR", "92.9")),
    "uk": ((12576, "EE Limited,GB", "31.94"), (25135, "VODAFONE_UK_ASN Vodafone Limited,GB", "89.1")),
}
PLATFORMS = {  # platform: (devtype, os)
    "iphone": ("phone", "ios"), "android-phone": ("phone", "android"), "ipad": ("tablet", "ios"),
    "android-tablet": ("tablet", "android"), "macbook": ("laptop", "darwin"),
    "windows-laptop": ("laptop", "windows"), "windows-pc": ("pc", "windows"),
}
DEVICE_NAMES = {"iphone": "iphone", "android-phone": "phone", "ipad": "ipad", "android-tablet": "tablet",
                "macbook": "macbook", "windows-laptop": "laptop", "windows-pc": "mainpc"}
BROWSERS = {  # platform: ((user agent, process name), ...)
    "iphone": (("Mozilla/5.0 (iPhone; CPU iPhone OS 9_0_2 like Mac OS X) AppleWebKit/601.1.46 (KHTML, "
                "like Gecko) Version/9.0 Mobile/13A452 Safari/601.1", "mobilesafari"),),
    "ipad": (("Mozilla/5.0 (iPad; CPU OS 9_0_2 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) "
              "Version/9.0 Mobile/13A452 Safari/601.1", "mobilesafari"),),
    "android-phone": (("Mozilla/5.0 (Linux; Android 5.1.1; SM-G920F Build/LMY47X) AppleWebKit/537.36 "
                       "(KHTML, like Gecko) Chrome/46.0.2490.76 Mobile Safari/537.36",
                       "com.android.chrome"),),
    "android-tablet": (("Mozilla/5.0 (Linux; Android 5.0.2; SM-T530 Build/LRX22G) AppleWebKit/537.36 "
                        "(KHTML, like Gecko) Chrome/46.0.2490.76 Safari/537.36", "com.android.chrome"),),
    "macbook": (("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11) AppleWebKit/601.1.56 (KHTML, like Gecko) "
                 "Version/9.0 Safari/601.1.56", "Safari"),
                ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_0) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/46.0.2490.80 Safari/537.36", "Google Chrome")),
    "windows": (("Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/46.0.2490.80 Safari/537.36", "chrome.exe"),
                ("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:41.0) Gecko/20100101 Firefox/41.0", "firefox.exe"),
                ("Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko", "iexplore.exe")),
}
ELSEWHERE = ("Supermarket", "Gym", "Restaurant", "Parents", "Cinema", "Park")


@dataclass
class Household:
    family: str
    country: str
    city: tuple[str, float, float]
    isp: tuple[int, str, str]
    public_ip: str
    size: int
    members: list[int] = field(default_factory=list)


@dataclass
class User:
    id: int
    username: str
    household: Household
    starttime: datetime
    employed: bool
    places: dict[str, tuple[float, float]]  # place name -> (lat, lon)
    first_day: int = 0  # days of the study the user takes part in: [first_day, last_day) ...
    last_day: int = 1 << 30
    holiday: tuple[int, int] | None = None  # ... except these days [from, to): away, no data
    withdrawn: bool = False  # left the study half-way (last_day) and withdrew

    def observed(self, day_no: np.ndarray) -> np.ndarray:
        """Which of these study days the user takes part in."""
        on = (day_no >= self.first_day) & (day_no < self.last_day)
        if self.holiday is not None:
            on &= (day_no < self.holiday[0]) | (day_no >= self.holiday[1])
        return on


@dataclass
class Device:
    id: int
    name: str
    login: str
    platform: str
    owners: list[int]
    role: str  # home or work: which rhythm its sessions follow
    activity: float  # how much its users use it, relative to others of its type
    first_day: int  # days of the study the device takes part in: [first_day, last_day)
    last_day: int
    browser_ua: str
    browser_app: str
    services: list[int]  # indices into SERVICES
    leases: list[tuple[str, float | None, float | None]]  # address, valid_from, valid_to (epoch s)
    always_on: bool = False  # a desktop never switched off: online (and polling) day and night

    @property
    def devtype(self) -> str:
        return PLATFORMS[self.platform][0]

    @property
    def os(self) -> str:
        return PLATFORMS[self.platform][1]

    @property
    def shared(self) -> bool:
        return len(self.owners) > 1

    @property
    def has_hostview(self) -> bool:
        """Laptops and PCs run the end-host agent that records ground truth."""
        return self.devtype in ("laptop", "pc")


@dataclass
class Population:
    users: list[User]
    devices: list[Device]
    start_epoch: float

    def user(self, uid: int) -> User:
        return self.users[uid - 1]

    def country(self, device: Device) -> str:
        return self.user(device.owners[0]).household.country

    def timezone(self, device: Device) -> str:
        return TIMEZONES[self.country(device)]

    def device_active(self, device: Device, day_no: np.ndarray) -> np.ndarray:
        """Days the device is used: its own span, on days one of its users takes part."""
        owners = np.zeros(len(day_no), dtype=bool)
        for uid in device.owners:
            owners |= self.user(uid).observed(day_no)
        return owners & (day_no >= device.first_day) & (day_no < device.last_day)

    @property
    def withdrawn(self) -> list[str]:
        return [u.username for u in self.users if u.withdrawn]


def build_population(params: DemoParams) -> Population:
    rng = np.random.default_rng([params.seed, 0])
    start = datetime.combine(params.start, time(0), tzinfo=UTC)
    households = _households(rng, params.users)
    users: list[User] = []
    for hh in households:
        for role in _usernames(hh):
            uid = len(users) + 1
            hh.members.append(uid)
            users.append(_user(rng, uid, role, hh, start))
    hh_by_family = {h.family: h for h in households}
    pop = Population(users, [], start.timestamp())
    for user in users:
        for platform, name, role in _personal_devices(rng):
            _add_device(pop, rng, params, platform, f"{user.username}.{name}", name, [user.id], role)
    for hh in hh_by_family.values():
        if len(hh.members) > 1 and rng.random() < 0.7:
            platform = str(rng.choice(["ipad", "android-tablet", "windows-laptop", "macbook"],
                                      p=[.4, .2, .3, .1]))
            name = DEVICE_NAMES[platform]
            _add_device(pop, rng, params, platform, f"{hh.family}.{name}", name, list(hh.members), "home")
    _swap_some_leases(pop, rng, params)
    _come_and_go(pop, params)
    return pop


def _come_and_go(pop: Population, params: DemoParams) -> None:
    """Who joins late, leaves early, takes a holiday, withdraws (own random stream: the rest of
    the population is the same as without it)."""
    if params.days < 7:
        return
    rng = np.random.default_rng([params.seed, 0, 9])
    days = params.days
    for user in pop.users:
        user.last_day = days
        if rng.random() < 0.15:
            user.first_day = int(rng.integers(1, days // 3 + 1))
        if rng.random() < 0.15:
            user.last_day = int(rng.integers(2 * days // 3, days))
        length = int(rng.integers(2, max(3, days // 5) + 1))
        if days >= 10 and rng.random() < 0.3 and user.last_day - user.first_day > length + 2:
            start = int(rng.integers(user.first_day + 1, user.last_day - length))
            user.holiday = (start, start + length)
    staying = [u for u in pop.users if u.last_day == days and u.first_day < days // 2 - 1]
    if len(pop.users) >= 5 and staying:
        quitter = staying[int(rng.integers(len(staying)))]
        quitter.last_day, quitter.withdrawn = days // 2, True
        _end_leases(pop, quitter, pop.start_epoch + days // 2 * 86400)


def _end_leases(pop: Population, user: User, when: float) -> None:
    """The withdrawn user's personal devices lose their VPN addresses when they leave."""
    for device in pop.devices:
        if device.owners == [user.id]:
            device.leases = [(a, f, when if t is None or t > when else t) for a, f, t in device.leases
                             if f is None or f < when]


def _households(rng: np.random.Generator, n_users: int) -> list[Household]:
    n_fr = round(n_users * FRANCE_SHARE)
    out: list[Household] = []
    for country, n in (("fr", n_fr), ("uk", n_users - n_fr)):
        p_couple = 0.25 if country == "fr" else 0.6
        left = n
        while left > 0:
            size = 2 if left >= 2 and rng.random() < p_couple else 1
            names = FAMILIES[country]
            k = sum(1 for h in out if h.country == country)
            family = names[k % len(names)] + (str(k // len(names)) if k >= len(names) else "")
            city = CITIES[country][int(rng.random() < 0.3)]
            isp = HOME_ISPS[country][int(rng.integers(len(HOME_ISPS[country])))]
            out.append(Household(family, country, city, isp, _public_ip(rng, isp[2]), size))
            left -= size
    return out


def _usernames(hh: Household) -> list[str]:
    if hh.size == 1:
        return [hh.family]
    return [f"{hh.family}.wife", f"{hh.family}.husband"]


def _user(rng: np.random.Generator, uid: int, username: str, hh: Household, start: datetime) -> User:
    employed = bool(rng.random() < 0.75)
    _, lat, lon = hh.city
    places = {"home": _near(rng, lat, lon, 0.04)}
    if employed:
        places["work"] = _near(rng, lat, lon, 0.06)
    for name in rng.choice(ELSEWHERE, size=3, replace=False):
        places[str(name)] = _near(rng, lat, lon, 0.08)
    registered = start.timestamp() + float(rng.uniform(0, 3 * 3600))
    return User(uid, username, hh, datetime.fromtimestamp(registered, UTC).replace(tzinfo=None),
                employed, places)


def _near(rng: np.random.Generator, lat: float, lon: float, spread: float) -> tuple[float, float]:
    return (round(lat + float(rng.normal(0, spread)), 6), round(lon + float(rng.normal(0, spread)), 6))


def _public_ip(rng: np.random.Generator, prefix: str) -> str:
    return f"{prefix}.{int(rng.integers(1, 255))}.{int(rng.integers(1, 255))}"


def _personal_devices(rng: np.random.Generator) -> list[tuple[str, str, str]]:
    out = []
    if rng.random() < 0.95:
        platform = "iphone" if rng.random() < 0.55 else "android-phone"
        out.append((platform, DEVICE_NAMES[platform], "home"))
    if rng.random() < 0.7:
        platform = str(rng.choice(["macbook", "windows-laptop", "windows-pc"], p=[.25, .45, .3]))
        out.append((platform, DEVICE_NAMES[platform], "home"))
    if rng.random() < 0.2:
        platform = "ipad" if rng.random() < 0.6 else "android-tablet"
        out.append((platform, DEVICE_NAMES[platform], "home"))
    if rng.random() < 0.15:
        out.append(("windows-pc", "workpc", "work"))
    if not out:
        out.append(("android-phone", "phone", "home"))
    return out


def _add_device(pop: Population, rng: np.random.Generator, params: DemoParams, platform: str,
                login: str, name: str, owners: list[int], role: str) -> None:
    dev_id = len(pop.devices) + 1
    country = pop.user(owners[0]).household.country
    os = PLATFORMS[platform][1]
    browser_ua, browser_app = BROWSERS["windows" if os == "windows" else platform][
        int(rng.integers(len(BROWSERS["windows" if os == "windows" else platform])))]
    first_day, last_day = 0, params.days
    if params.days >= 7 and rng.random() < 0.15:  # joined late or left early, as in the real study
        if rng.random() < 0.5:
            first_day = int(rng.integers(1, params.days // 2))
        else:
            last_day = int(rng.integers(params.days // 2, params.days))
    services = _choose_services(rng, os, country)
    subnet = "10.8" if country == "fr" else "10.9"
    address = f"{subnet}.{dev_id // 250}.{dev_id % 250 + 2}"
    pop.devices.append(Device(
        dev_id, name, login, platform, owners, role, float(rng.lognormal(0, 0.5)), first_day, last_day,
        browser_ua, browser_app, services, [(address, None, None)],
        always_on=platform == "windows-pc" and np.random.default_rng([params.seed, dev_id, 5]).random() < 0.3,
    ))


def _choose_services(rng: np.random.Generator, os: str, country: str) -> list[int]:
    from ucnstudy.demo.services import SERVICES

    candidates = services_for(os, country)
    core = [SERVICES.index(s) for s in candidates if not s.optional]
    optional = [SERVICES.index(s) for s in candidates if s.optional]
    k = min(len(optional), int(rng.integers(2, 5)))
    chosen = rng.choice(optional, size=k, replace=False).tolist() if k else []
    return sorted(core + [int(i) for i in chosen])


def _swap_some_leases(pop: Population, rng: np.random.Generator, params: DemoParams) -> None:
    """Some pairs of devices swap VPN addresses mid-study: attribution needs (address, time)."""
    if params.days < 2:
        return
    for country in ("fr", "uk"):
        devs = [d for d in pop.devices if pop.country(d) == country]
        order = rng.permutation(len(devs))
        for a, b in zip(order[0:len(order) // 5 * 2:2], order[1:len(order) // 5 * 2:2], strict=False):
            da, db = devs[int(a)], devs[int(b)]
            when = pop.start_epoch + float(rng.integers(1, params.days)) * 86400 + 3 * 3600
            addr_a, addr_b = da.leases[0][0], db.leases[0][0]
            da.leases = [(addr_a, None, when), (addr_b, when, None)]
            db.leases = [(addr_b, None, when), (addr_a, when, None)]


def population_tables(pop: Population) -> dict[str, pa.Table]:
    """users, devices, user_devices and device_addresses rows."""
    users = pa.table({
        "id": [u.id for u in pop.users], "username": [u.username for u in pop.users],
        "familyname": [u.household.family for u in pop.users],
        "starttime": pa.array([u.starttime for u in pop.users], pa.timestamp("us")),
        "country": [u.household.country for u in pop.users],
        "timezone": [TIMEZONES[u.household.country] for u in pop.users],
    })
    devices = pa.table({
        "id": [d.id for d in pop.devices], "name": [d.name for d in pop.devices],
        "login": [d.login for d in pop.devices], "platform": [d.platform for d in pop.devices],
        "devtype": [d.devtype for d in pop.devices], "os": [d.os for d in pop.devices],
        "shared": [d.shared for d in pop.devices],
    })
    links = [(u, d.id) for d in pop.devices for u in d.owners]
    leases = [(d.id, *lease) for d in pop.devices for lease in d.leases]

    def ts(values: list[float | None]) -> pa.Array:
        return pa.array([None if v is None else datetime.fromtimestamp(v, UTC).replace(tzinfo=None)
                         for v in values], pa.timestamp("us"))

    return {
        "users": users,
        "devices": devices,
        "user_devices": pa.table({"user_id": [u for u, _ in links], "device_id": [d for _, d in links]}),
        "device_addresses": pa.table({
            "devid": [x[0] for x in leases], "address": [x[1] for x in leases],
            "valid_from": ts([x[2] for x in leases]), "valid_to": ts([x[3] for x in leases]),
        }),
    }
