"""Registrable domain and public suffix of a host name, from the bundled Public Suffix List.

The snapshot is `ucnstudy/data/public_suffix_list.dat` (its VERSION line is `PSL_VERSION`); nothing
is downloaded at run time. Only the ICANN section counts: `x.cloudfront.net` belongs to
`cloudfront.net`, so that a study groups hosts by the organisation that registered the domain
rather than by customer sub-zones of hosting platforms (the private section would make every
`*.blogspot.com` blog its own domain). This replaces the original's "co.uk" rule (bug 19).
"""

from __future__ import annotations

import ipaddress
from functools import cache
from importlib import resources

from publicsuffixlist import PublicSuffixList

PSL_RESOURCE = "public_suffix_list.dat"


def _psl_text() -> str:
    return resources.files("ucnstudy.data").joinpath(PSL_RESOURCE).read_text(encoding="utf-8")


def _psl_version(text: str) -> str:
    for line in text.splitlines()[:40]:
        if line.startswith("// VERSION:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList(_psl_text().splitlines(), only_icann=True, accept_unknown=False)


@cache
def psl_version() -> str:
    """The bundled list's VERSION stamp (its publication date), e.g. 2026-10-22_08-36-41_UTC."""
    return _psl_version(_psl_text())


def normalise_host(host: str | None) -> str | None:
    """Lower case, no trailing dot, no surrounding brackets or spaces; None when empty."""
    if host is None:
        return None
    host = host.strip().strip("[]").rstrip(".").lower()
    return host or None


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def split_host(host: str | None) -> tuple[str | None, str | None]:
    """(registrable domain, public suffix) of a host name.

    Both are None for IP addresses and empty names. A single label ("localhost") or a name that
    is itself a public suffix ("co.uk") has a suffix but no registrable domain. A name under a
    TLD that the list does not know ("version.bind", "printer.local", "localhost") has neither:
    the PSL's default rule "*" would invent domains for internal names.
    """
    name = normalise_host(host)
    # TLDs are never numeric, so only names ending in a digit or holding ':' can be addresses
    if name is None or ".." in name or ((":" in name or name[-1].isdigit()) and is_ip_address(name)):
        return None, None
    psl = _psl()
    domain = psl.privatesuffix(name)
    if domain is not None:
        return domain, domain.partition(".")[2]
    return None, psl.publicsuffix(name)


def registrable_domain(host: str | None) -> str | None:
    return split_host(host)[0]


def public_suffix(host: str | None) -> str | None:
    return split_host(host)[1]
