"""The keyed transformations of one export: pseudonyms, addresses, names, URLs, times.

One Transformer per export holds the derived keys and per-value caches; policy.py says which
of its mappers each column goes through.
"""

from __future__ import annotations

import re

import pyarrow as pa

from ucnstudy.privacy import text
from ucnstudy.privacy.addresses import Addresses
from ucnstudy.privacy.arrays import Mapper
from ucnstudy.privacy.keys import Pseudonyms, StudyKey
from ucnstudy.privacy.levels import Levels
from ucnstudy.privacy.places import place_label
from ucnstudy.privacy.times import Shifts, offset_weeks
from ucnstudy.privacy.urls import cut_urls
from ucnstudy.schema import timezone_of

FLOWID_DIGITS = 56  # as long as the SHA-224 hex it replaces


class Transformer:
    def __init__(self, key: StudyKey, levels: Levels) -> None:
        self.levels = levels
        self.pseudonyms = p = Pseudonyms(key)
        self.addresses = Addresses(key.derive("cryptopan"))
        self.shifts = Shifts(pseudonyms=p)
        self._people: dict[str, str] = {}  # lower-case username/login/family name -> pseudonym
        self._people_re: re.Pattern[str] | None = None
        self.user = Mapper(lambda v: p("user", v))
        self.family = Mapper(lambda v: p("family", v))
        self.device = Mapper(lambda v: p("device", v))
        self.login = Mapper(lambda v: p("login", v))
        self.loc_id = Mapper(lambda v: p("loc", v))
        self.digest = Mapper(lambda v: p.digest("sha256", v))
        self.flowid = Mapper(lambda v: p.digest("flowid", v)[:FLOWID_DIGITS])
        self.address = Mapper(self._address)
        scrub = self.scrub
        self.dns_name = Mapper(lambda v: scrub(self._dns_name(v)))
        self.domain_name = Mapper(lambda v: scrub(self.addresses.reverse_name(v)
                                                  or text.cut_host(v, "full", self._address)))
        self.answer = Mapper(lambda v: self.addresses.address(v) or scrub(self._dns_name(v)))
        self._url_one = Mapper(lambda v: scrub(text.cut_url(v, levels.urls, self._address)))
        self._url_path = Mapper(lambda v: scrub(v))
        self.url_host = Mapper(lambda v: scrub(text.cut_host(v, levels.urls, self._address)))
        self.url_domain = Mapper(lambda v: scrub(text.cut_host(v, "none" if levels.urls == "none"
                                                               else "full", self._address)))
        self.url_path = Mapper(lambda v: scrub(text.cut_path(v, levels.urls)))
        self.user_agent = Mapper(text.user_agent_family)
        self.app = Mapper(text.app_category)
        self.place_name = Mapper(lambda v: place_label(v) or p("place", v))
        self.network_name = Mapper(lambda v: p("network", v))

    def url(self, arr: pa.Array) -> pa.Array:
        """A URL column at level `urls` (vectorised; see urls.py)."""
        return cut_urls(arr, self.levels.urls, self.url_host, self._url_path, self._url_one)

    def _address(self, value: str) -> str:
        """Crypto-PAn of an address; a value that is no address still never passes through."""
        return self.addresses.address(value) or self.pseudonyms("addr", value)

    def _dns_name(self, name: str) -> str | None:
        reverse = self.addresses.reverse_name(name)
        if reverse is not None:
            return reverse
        return text.cut_host(name, "domain" if self.levels.dns == "domain" else "full",
                             self._address)

    def learn_people(self, users: pa.Table, devices: pa.Table) -> None:
        """Usernames, family names and logins, so that `scrub` finds them inside kept text."""
        pairs = [("family", v) for v in users["familyname"].to_pylist()]  # a username wins
        pairs += [("user", v) for v in users["username"].to_pylist()]
        pairs += [("login", v) for v in devices["login"].to_pylist()]
        self._people = {v.lower(): self.pseudonyms(kind, v) for kind, v in pairs
                        if v and len(v) >= 3}
        if self._people:
            names = "|".join(re.escape(n) for n in sorted(self._people, key=len, reverse=True))
            self._people_re = re.compile(rf"(?<![\w])(?:{names})(?![\w])", re.IGNORECASE)

    def scrub(self, value: str | None) -> str | None:
        """A kept text with any username, login or family name in it (a DNS name such as
        martin-laptop.home, a URL path) replaced by its pseudonym, as a whole word."""
        if value is None or self._people_re is None:
            return value
        return self._people_re.sub(lambda m: self._people[m.group().lower()], value)

    def learn_owners(self, users: pa.Table, user_devices: pa.Table) -> None:
        """Per-user offsets and zones, and each device's owner (its lowest user id)."""
        for row in users.to_pylist():
            zone = timezone_of(row["country"], row["timezone"])
            self.shifts.users[row["id"]] = (zone, offset_weeks(self.pseudonyms, "user", row["id"]))
        owners: dict[int, int] = {}
        for row in user_devices.to_pylist():
            dev, user = row["device_id"], row["user_id"]
            owners[dev] = min(user, owners.get(dev, user))
        for dev, user in owners.items():
            self.shifts.devices[dev] = self.shifts.of("user", user)
