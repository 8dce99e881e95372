"""`ucn import pcap --device LOGIN [--window 10] [--strict] FILE...`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ucnstudy.cli.common import open_cli_study
from ucnstudy.cli.importers.report import REPLACE, import_with_progress

if TYPE_CHECKING:
    from ucnstudy.store import Study


def register(import_app: typer.Typer) -> None:
    import_app.command("pcap", help=HELP)(import_pcap)


HELP = ("Load a device's captures (pcap, pcapng, gzip) into devicetraffic (1 s), deviceapptraffic, "
        "flows, dnsreqs and httpreqs. The device's address comes from its leases in the manifest, "
        "else from a heuristic over the whole capture (docs/inputs/pcap.md). Each file is one atomic, "
        "idempotent import; derived columns are recomputed afterwards (ucn enrich).")


def import_pcap(
    files: list[Path] = typer.Argument(..., help="pcap or pcapng captures, optionally gzipped"),
    device: str = typer.Option(..., "--device", help="login of the device the captures belong to"),
    window: int = typer.Option(10, "--window", min=1,
                               help="deviceapptraffic window in seconds (starts at floor(ts/W)*W)"),
    strict: bool = typer.Option(False, "--strict",
                                help="a corrupt packet or malformed DNS message rejects the file"),
    replace: bool = REPLACE,
) -> None:
    """Load a device's captures (see HELP)."""
    from ucnstudy.enrich import PENDING
    from ucnstudy.sources.pcap import KIND, pcap_parser
    from ucnstudy.store.nopandas import pandas_hidden

    with open_cli_study() as study, pandas_hidden():  # the import and enrichment never use it
        import_with_progress(study, KIND, files, pcap_parser(device.lower(), window_s=window),
                             unit="packets", strict=strict,
                             options={"device": device.lower(), "window_s": window},
                             after_load=_enrich, replace=replace, pending=PENDING)


def _enrich(study: Study) -> None:
    """Domains, service names and user-initiated flags of the new rows (and the rest)."""
    from ucnstudy.enrich import enrich_study

    enrich_study(study)
