"""Background services: what devices fetch on their own, whether or not the user is active.

Modes: `always` polls with jitter while the device is online; `session` polls only while an app
is in use (in-app ads, analytics: background traffic that coincides with user activity);
`wake` fires once when the user starts a session (connectivity checks after unlock).
Some hosts match the original study's block list (ORIGINAL_BLOCKLIST); many app-specific ones
match no list at all, so that periodicity or beacon filters have something to find.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The eight DNS patterns of the original filterdns.py (matched anywhere in the name).
ORIGINAL_BLOCKLIST = (
    "gsp1.apple.com", "init-p01st.push.apple.com", "doubleclick.net", "smartadserver.com",
    "pixel.quantserve.com", "static.ess.apple.com", "dmd.metaservices.microsoft.com",
    "windowsupdate.com",
)


def on_original_blocklist(host: str) -> bool:
    return any(re.search(re.escape(p) + r"$", host) for p in ORIGINAL_BLOCKLIST)


@dataclass(frozen=True)
class Service:
    name: str
    host: str
    provider: str
    platforms: tuple[str, ...]  # os values (ios, android, darwin, windows) that run it
    mode: str  # always, session or wake
    period: float  # seconds between polls (keepalive interval for persistent connections)
    scheme: str  # http, https, other (a non-web port) or dns (a lookup only)
    path: str = "/"
    mime: str = "application/octet-stream"
    size: int = 2_000  # median response bytes
    port: int = 0  # for scheme other
    proto: int = 6
    persistent: bool = False  # one long connection per online interval: DNS only on connect
    ua: str = ""
    app: str = ""  # owning process on laptops and PCs
    optional: bool = False  # app-specific: a device runs a random few of these
    country: str = "*"
    big_probability: float = 0.0  # chance that a poll downloads an update
    big_size: int = 0
    jitter: float = 0.1  # standard deviation of a poll's offset, as a fraction of the period

    @property
    def on_blocklist(self) -> bool:
        return on_original_blocklist(self.host)


APPLE = ("ios", "darwin")
DESKTOP = ("darwin", "windows")
MOBILE = ("ios", "android")
ALL = ("ios", "android", "darwin", "windows")
GEOD = "com.apple.geod/1010.14 CFNetwork/758.1.6 Darwin/15.0.0"
CRYPTO = "Microsoft-CryptoAPI/10.0"
DALVIK = "Dalvik/2.1.0 (Linux; U; Android 5.1.1; SM-G920F Build/LMY47X)"

SERVICES: tuple[Service, ...] = (
    # Apple
    Service("apple-push-bag", "init-p01st.push.apple.com", "apple", APPLE, "always", 3_600, "http",
            "/bag", "text/xml", 3_100, ua="apsd (unknown version) CFNetwork/758.1.6", app="apsd"),
    Service("apple-push", "5-courier.push.apple.com", "apple", APPLE, "always", 1_500, "other",
            size=120, port=5223, persistent=True, app="apsd"),
    Service("apple-location", "gsp1.apple.com", "apple", ("ios",), "always", 1_800, "http",
            "/pep/gcc?v=", "application/octet-stream", 900, ua=GEOD),
    Service("apple-connectivity", "static.ess.apple.com", "akamai", APPLE, "wake", 0, "http",
            "/connectivity.txt?t=", "text/plain", 12, ua="captiveagent"),
    Service("apple-captive", "captive.apple.com", "akamai", APPLE, "wake", 0, "http",
            "/hotspot-detect.html?r=", "text/html", 68, ua="CaptiveNetworkSupport-325.10.1 wispr"),
    Service("apple-ocsp", "ocsp.apple.com", "akamai", APPLE, "always", 14_400, "http",
            "/ocsp04-apevsrsa2g101/ME4wTKADAgEAMEUwQzBBMAkGBSsOAwIaBQAEFD", "application/ocsp-response",
            1_500, ua="com.apple.trustd/1.0", app="trustd"),
    Service("icloud", "p14-ckdatabase.icloud.com", "apple", APPLE, "always", 900, "https", size=4_000,
            app="cloudd"),
    Service("itunes", "init.itunes.apple.com", "akamai", APPLE, "always", 21_600, "https", size=40_000,
            app="itunes"),
    Service("apple-update", "swscan.apple.com", "akamai", ("darwin",), "always", 43_200, "https",
            size=150_000, app="softwareupdated", big_probability=0.2, big_size=60_000_000),
    # Android
    Service("google-push", "mtalk.google.com", "google-alias", ("android",), "always", 1_680, "other",
            size=90, port=5228, persistent=True),
    Service("android-checkin", "android.clients.google.com", "google-alias", ("android",), "always",
            10_800, "https", size=6_000),
    Service("android-connectivity", "connectivitycheck.gstatic.com", "google", ("android",), "wake", 0,
            "http", "/generate_204?n=", "text/plain", 0, ua=DALVIK),
    Service("google-play", "play.googleapis.com", "google", ("android",), "always", 7_200, "https",
            size=20_000, big_probability=0.15, big_size=25_000_000),
    # Windows
    Service("wu-ctl", "ctldl.windowsupdate.com", "akamai", ("windows",), "always", 21_600, "http",
            "/msdownload/update/v3/static/trustedr/en/authrootstl.cab?", "application/vnd.ms-cab-compressed",
            52_000, ua=CRYPTO, app="svchost.exe"),
    Service("wu-download", "download.windowsupdate.com", "akamai", ("windows",), "always", 14_400, "http",
            "/d/msdownload/update/software/defu/2015/10/am_delta_", ".exe", 400_000,
            ua="Windows-Update-Agent/7.9.9600.17729 Client-Protocol/1.21", app="svchost.exe",
            big_probability=0.1, big_size=45_000_000),
    Service("wu-scan", "fe2.update.microsoft.com", "microsoft", ("windows",), "always", 10_800, "https",
            size=80_000, app="svchost.exe"),
    Service("ms-dmd", "dmd.metaservices.microsoft.com", "microsoft", ("windows",), "always", 7_200, "http",
            "/dms/metadata.svc?n=", "text/xml", 4_000, ua="MICROSOFT_DEVICE_METADATA_RETRIEVAL_CLIENT",
            app="svchost.exe"),
    Service("ms-ncsi", "www.msftncsi.com", "akamai", ("windows",), "wake", 0, "http", "/ncsi.txt?n=",
            "text/plain", 14, ua="Microsoft NCSI", app="svchost.exe"),
    Service("ms-telemetry", "v10.vortex-win.data.microsoft.com", "microsoft", ("windows",), "always", 900,
            "https", size=1_500, app="diagtrack.exe"),
    Service("ms-settings", "settings-win.data.microsoft.com", "microsoft", ("windows",), "always", 3_600,
            "https", size=2_500, app="svchost.exe"),
    Service("ms-fwlink", "go.microsoft.com", "microsoft", ("windows",), "wake", 0, "http",
            "/fwlink/?LinkID=", "text/html", 300, ua=CRYPTO, app="explorer.exe"),
    Service("ntp", "time.windows.com", "microsoft", ("windows",), "always", 3 * 3_600, "other", size=76,
            port=123, proto=17, app="svchost.exe"),
    Service("wpad", "wpad.home", "nx", ("windows",), "always", 1_800, "dns", app="svchost.exe"),
    # App-specific: no list knows them
    Service("dropbox-notify", "notify4.dropbox.com", "own", DESKTOP, "always", 120, "http",
            "/subscribe?host_int=", "text/plain", 60, ua="DropboxDesktopClient/3.10.11", app="dropbox.exe",
            optional=True),
    Service("dropbox-sync", "client-lb.dropbox.com", "own", DESKTOP, "always", 900, "https", size=3_000,
            app="dropbox.exe", optional=True),
    Service("skype-config", "a.config.skype.com", "microsoft", ALL, "always", 1_800, "https", size=5_000,
            app="skype.exe", optional=True),
    Service("spotify", "ap.spotify.com", "own", ALL, "always", 600, "other", size=200, port=4070,
            persistent=True, app="spotify.exe", optional=True),
    Service("music-stream", "audio-fa.scdn.co", "akamai", ALL, "session", 30, "other", size=110_000,
            port=4070, persistent=True, app="spotify.exe", optional=True),
    Service("imap-idle", "imap.gmail.com", "google-alias", DESKTOP, "always", 1_740, "other", size=300,
            port=993, persistent=True, app="thunderbird.exe", optional=True),
    Service("office365", "outlook.office365.com", "microsoft", ("windows",), "always", 600, "https",
            size=2_000, app="outlook.exe", optional=True),
    Service("chrome-update", "update.googleapis.com", "google", DESKTOP, "always", 18_000, "https",
            size=2_000, app="googleupdate.exe", optional=True),
    Service("safebrowsing", "safebrowsing.google.com", "google-alias", DESKTOP, "always", 1_800, "https",
            size=8_000, app="chrome.exe", optional=True),
    Service("avast", "su.ff.avast.com", "own", ("windows",), "always", 3_600, "http", "/R/A3gKQ", "", 900,
            ua="avast! Antivirus", app="avastsvc.exe", optional=True, big_probability=0.1,
            big_size=8_000_000),
    Service("whatsapp", "e3.whatsapp.net", "facebook", MOBILE, "always", 240, "other", size=150,
            port=5222, persistent=True, optional=True),
    Service("facebook-mqtt", "mqtt-mini.facebook.com", "facebook", MOBILE, "always", 600, "https",
            size=200, persistent=True, optional=True),
    Service("facebook-graph", "graph.facebook.com", "facebook", MOBILE, "always", 1_800, "https",
            size=3_000, optional=True),
    Service("weather", "api.openweathermap.org", "own", MOBILE, "always", 1_800, "http",
            "/data/2.5/weather?id=", "application/json", 450, ua=DALVIK, optional=True),
    Service("news-uk", "feeds.bbci.co.uk", "akamai", ALL, "always", 1_800, "http", "/news/rss.xml?edition=",
            "application/rss+xml", 22_000, ua="Feedly/1.0", optional=True, country="uk"),
    Service("news-fr", "www.lemonde.fr", "akamai", ALL, "always", 1_800, "http", "/rss/une.xml?n=",
            "application/rss+xml", 25_000, ua="Feedly/1.0", optional=True, country="fr"),
    # A browser left open on a live news page keeps polling for updates whether or not anyone
    # looks: no list knows the host, and laptops and PCs left on overnight send most of these.
    Service("news-live", "polling.bbc.co.uk", "akamai", DESKTOP, "always", 120, "http",
            "/news/latest_breaking_news?audience=", "application/json", 240, ua="Mozilla/5.0"),
    # In-app advertising and analytics: only while an app is in use
    Service("inapp-ads", "googleads.g.doubleclick.net", "google-alias", MOBILE, "session", 90, "http",
            "/mads/gma?preqs=", "text/html", 3_500, ua=DALVIK),
    Service("inapp-analytics", "app-measurement.com", "google", MOBILE, "session", 120, "https", size=300),
    Service("crashlytics", "settings.crashlytics.com", "own", MOBILE, "session", 900, "https", size=700),
    Service("inapp-audience", "sb.scorecardresearch.com", "akamai", ALL, "session", 300, "http",
            "/p2?c1=19&c2=", "image/gif", 43, ua="comScore/1.0"),
    Service("inapp-ads-fr", "www8.smartadserver.com", "own-fr", MOBILE, "session", 90, "http",
            "/ac?siteid=", "application/javascript", 2_600, ua=DALVIK, country="fr"),
)


def services_for(os: str, country: str) -> list[Service]:
    return [s for s in SERVICES if os in s.platforms and s.country in ("*", country)]
