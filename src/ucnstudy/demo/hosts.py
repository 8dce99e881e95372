"""Host names of the demo: where each one is hosted, its CNAME chain, addresses and TTLs.

Every name the demo resolves is registered here once, with a provider that decides how it
resolves (a CDN adds a CNAME chain and shares its edge addresses between many names, so that the
address -> name mapping is not one-to-one, as in the real study). Answers are precomputed as Arrow
list arrays, one entry per host, so that a DNS table is a `take` of host indices.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

A, AAAA, CNAME = 1, 28, 5


@dataclass(frozen=True)
class Provider:
    chain: tuple[str, ...]  # CNAME targets, formatted with {host}, {label}, {n}
    chain_ttl: int
    a_ttl: int
    prefixes: tuple[str, ...]  # first two octets of the edge addresses
    pool: int  # distinct edge addresses per prefix: small pools are shared by many names
    addresses: int  # A records per answer


PROVIDERS: dict[str, Provider] = {
    "akamai": Provider(
        ("{host}.edgesuite.net", "a{n}.g.akamai.net"), 21600, 20, ("2.16", "23.62", "88.221"), 48, 2
    ),
    "akamai-ssl": Provider(
        ("{host}.edgekey.net", "e{n}.b.akamaiedge.net"), 300, 20, ("23.45", "104.86"), 32, 1
    ),
    "cloudfront": Provider(("d{n}x7.cloudfront.net",), 60, 60, ("54.230", "52.84"), 64, 4),
    "fastly": Provider(("{label}.map.fastly.net",), 3600, 30, ("151.101",), 24, 4),
    "google": Provider((), 0, 300, ("216.58", "172.217", "74.125"), 256, 1),
    "google-alias": Provider(("{label}.l.google.com",), 86400, 300, ("216.58", "172.217"), 128, 1),
    "googlevideo": Provider((), 0, 1800, ("173.194", "74.125"), 512, 1),
    "apple": Provider(("{label}.apple.com.akadns.net",), 3600, 60, ("17.172", "17.253", "17.167"), 256, 2),
    "microsoft": Provider(
        ("{label}.trafficmanager.net",), 300, 300, ("13.107", "65.55", "191.232", "40.77"), 128, 1
    ),
    "facebook": Provider(("star-mini.c10r.facebook.com",), 3600, 60, ("31.13", "157.240"), 32, 1),
    "own-fr": Provider((), 0, 3600, ("5.39", "213.186", "91.121", "195.154"), 4096, 1),
    "own-uk": Provider((), 0, 300, ("212.58", "151.224", "185.31", "195.59"), 4096, 1),
    "own": Provider((), 0, 600, ("104.16", "199.59", "208.80", "162.125"), 4096, 1),
    "nx": Provider((), 0, 0, ("0.0",), 1, 0),  # a name that does not exist: empty answers
}


def _hash(text: str) -> int:
    return zlib.crc32(text.encode())


def _address(prefix: str, value: int) -> str:
    return f"{prefix}.{(value >> 8) % 250 + 1}.{value % 250 + 2}"


@dataclass
class HostCatalog:
    """All host names, with answer arrays aligned by host index."""

    names: list[str]
    providers: list[str]
    index: dict[str, int]
    ttl: np.ndarray  # A-record TTL: how long a device caches the answer
    first_address: pa.Array  # the address a connection to the host uses (string)
    second_address: pa.Array  # an alternative address (round robin), or the first one again
    answers_a: dict[str, pa.ListArray]  # ans_type, ans_name, ans_addr, ans_ttl for an A query
    answers_aaaa: dict[str, pa.ListArray]  # the CNAME chain only (no IPv6 on the VPN)

    def idx(self, name: str) -> int:
        return self.index[name]

    def indices(self, names: list[str]) -> np.ndarray:
        return np.array([self.index[n] for n in names], dtype=np.int32)


def _chain(host: str, provider: Provider) -> list[str]:
    label = host.split(".")[0]
    n = _hash(host) % 9000 + 100
    return [t.format(host=host, label=label, n=n) for t in provider.chain]


def _records(host: str, provider: Provider, with_addresses: bool) -> list[tuple[int, str, str, int]]:
    """(type, owner name, address or target, ttl) for each answer record."""
    chain = _chain(host, provider)
    records = []
    owner = host
    for target in chain:
        records.append((CNAME, owner, target, provider.chain_ttl))
        owner = target
    if with_addresses:
        records.extend((A, owner, addr, provider.a_ttl) for addr in _addresses(host, provider))
    return records


def _addresses(host: str, provider: Provider) -> list[str]:
    # The edge chosen depends on the last name of the chain, so names behind one CDN edge share it.
    key = _hash(_chain(host, provider)[-1] if provider.chain else host)
    out = []
    for i in range(provider.addresses):
        prefix = provider.prefixes[(key + i) % len(provider.prefixes)]
        out.append(_address(prefix, (key // 7 + i * 37) % provider.pool * 131 + provider.pool))
    return out


def _answer_arrays(records: list[list[tuple[int, str, str, int]]]) -> dict[str, pa.ListArray]:
    columns: dict[str, tuple[pa.DataType, int]] = {
        "ans_type": (pa.int32(), 0),
        "ans_name": (pa.string(), 1),
        "ans_addr": (pa.string(), 2),
        "ans_ttl": (pa.int32(), 3),
    }
    return {
        name: pa.array([[r[pos] for r in rs] for rs in records], type=pa.list_(type_))
        for name, (type_, pos) in columns.items()
    }


def build_catalog(hosts: dict[str, str]) -> HostCatalog:
    """A catalog from {host name: provider name} (built once per study, not per event)."""
    names = sorted(hosts)
    providers = [hosts[n] for n in names]
    a_records = [_records(n, PROVIDERS[p], True) for n, p in zip(names, providers, strict=True)]
    aaaa_records = [_records(n, PROVIDERS[p], False) for n, p in zip(names, providers, strict=True)]
    addresses = [_addresses(n, PROVIDERS[p]) for n, p in zip(names, providers, strict=True)]
    return HostCatalog(
        names=names,
        providers=providers,
        index={n: i for i, n in enumerate(names)},
        ttl=np.array([PROVIDERS[p].a_ttl for p in providers], dtype=np.int64),
        first_address=pa.array([a[0] if a else None for a in addresses], type=pa.string()),
        second_address=pa.array([a[-1] if a else None for a in addresses], type=pa.string()),
        answers_a=_answer_arrays(a_records),
        answers_aaaa=_answer_arrays(aaaa_records),
    )
