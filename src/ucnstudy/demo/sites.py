"""Web sites and video services the demo users visit, and what one page view of each fetches.

A page view fetches its page from the site's main host, then resources from static hosts,
trackers and ad servers embedded in the page: user-initiated requests therefore also reach
tracker hosts, some of them on the original study's block list (doubleclick.net,
smartadserver.com, pixel.quantserve.com), others only on EasyPrivacy-like lists or on none.
Plain-HTTP sites appear in httpreqs; HTTPS sites only through DNS and flows, as in 2015.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    prefix: str  # URL path (and query) before a random number
    suffix: str  # after it
    mime: str
    size: int  # median body size in bytes


@dataclass(frozen=True)
class Component:
    host: str
    provider: str
    role: str  # page, static, tracker or video
    requests: float  # mean requests per page view (the page itself: exactly one)
    resources: tuple[Resource, ...]


@dataclass(frozen=True)
class Site:
    name: str
    scheme: str  # http or https
    country: str  # fr, uk or * (everyone)
    weight: float  # popularity among the users of that country
    kind: str  # web or video
    components: tuple[Component, ...]  # components[0] is the page


IMG = Resource("/img/", ".jpg", "image/jpeg", 28_000)
PNG = Resource("/i/", ".png", "image/png", 9_000)
JS = Resource("/js/app.", ".js", "application/javascript", 45_000)
CSS = Resource("/css/main.", ".css", "text/css", 18_000)
JSON = Resource("/api/v2/feed?since=", "", "application/json", 6_000)
STATIC = (IMG, IMG, IMG, PNG, JS, CSS)
SEGMENT = Resource("/dash/v/seg_", ".m4s", "video/mp4", 1_600_000)


def page(host: str, provider: str, *sections: str) -> Component:
    resources = tuple(Resource(s, ".html", "text/html; charset=utf-8", 55_000) for s in sections)
    return Component(host, provider, "page", 1.0, resources)


def static(host: str, provider: str, requests: float = 8.0) -> Component:
    return Component(host, provider, "static", requests, STATIC)


def api(host: str, provider: str, requests: float = 1.5) -> Component:
    return Component(host, provider, "static", requests, (JSON,))


def video(host: str, provider: str) -> Component:
    return Component(host, provider, "video", 0.0, (SEGMENT,))


def _tracker(host: str, provider: str, prefix: str, suffix: str, mime: str = "image/gif",
             size: int = 43, requests: float = 1.2) -> Component:
    return Component(host, provider, "tracker", requests, (Resource(prefix, suffix, mime, size),))


TRACKERS = {
    "ga": _tracker("www.google-analytics.com", "google-alias", "/collect?v=1&_v=j41&t=pageview&tid=UA-",
                   "-1"),
    "dc": _tracker("stats.g.doubleclick.net", "google-alias", "/r/collect?v=1&aip=1&t=dc&tid=UA-", "-2"),
    "ads": _tracker("googleads.g.doubleclick.net", "google-alias", "/pagead/ads?client=ca-pub-",
                    "&format=300x250", "text/html", 4_500, 2.0),
    "syn": _tracker("pagead2.googlesyndication.com", "google-alias", "/pagead/show_ads.js?v=", "",
                    "application/javascript", 21_000),
    "sc": _tracker("sb.scorecardresearch.com", "akamai", "/b?c1=2&c2=", "&ns__t=1"),
    "qs": _tracker("pixel.quantserve.com", "own", "/pixel/p-", ".gif"),
    "sas": _tracker("www8.smartadserver.com", "own-fr", "/ac?pgname=home&fmtid=", "&visit=S",
                    "application/javascript", 2_600, 2.0),
    "xiti": _tracker("logc22.xiti.com", "own-fr", "/hit.xiti?s=", "&p=accueil"),
    "bbc": _tracker("sa.bbc.co.uk", "own-uk", "/bbc/bbc/s?name=news.page&ml_name=", "&c8=1"),
    "ophan": _tracker("ophan.theguardian.com", "fastly", "/i.gif?viewId=", "&platform=next-gen"),
    "adnxs": _tracker("secure.adnxs.com", "own", "/ttj?id=", "&size=728x90", "text/html", 3_000),
    "fbpx": _tracker("connect.facebook.net", "akamai-ssl", "/en_US/fbevents.js?v=", "",
                     "application/javascript", 30_000, 0.6),
}


def _t(*names: str) -> tuple[Component, ...]:
    return tuple(TRACKERS[n] for n in names)


SITES: tuple[Site, ...] = (
    # France
    Site("lemonde", "http", "fr", 8, "web", (
        page("www.lemonde.fr", "akamai", "/politique/article/2015/10/", "/sport/article/2015/10/"),
        static("s1.lemde.fr", "akamai"), *_t("xiti", "sas", "ga", "sc"))),
    Site("leboncoin", "http", "fr", 9, "web", (
        page("www.leboncoin.fr", "own-fr", "/annonces/offres/ile_de_france/?o=", "/voitures/"),
        static("static.leboncoin.fr", "akamai", 5), static("img0.leboncoin.fr", "akamai", 6),
        *_t("ga", "xiti", "sas"))),
    Site("lefigaro", "http", "fr", 5, "web", (
        page("www.lefigaro.fr", "akamai", "/actualite-france/2015/10/", "/economie/"),
        static("i.f1g.fr", "akamai"), *_t("ads", "ga", "sc"))),
    Site("allocine", "http", "fr", 3, "web", (
        page("www.allocine.fr", "akamai", "/film/fichefilm_gen_cfilm=", "/seance/salle_gen_csalle="),
        static("fr.web.img6.acsta.net", "akamai"), *_t("syn", "ga", "adnxs"))),
    Site("20minutes", "http", "fr", 4, "web", (
        page("www.20minutes.fr", "cloudfront", "/societe/", "/sport/"),
        static("img.20mn.fr", "cloudfront"), *_t("xiti", "sas", "qs"))),
    Site("marmiton", "http", "fr", 2, "web", (
        page("www.marmiton.org", "own-fr", "/recettes/recette_", "/magazine/diaporama_"),
        static("images.marmitoncdn.org", "akamai"), *_t("qs", "ga", "sas"))),
    Site("orange", "http", "fr", 3, "web", (
        page("www.orange.fr", "own-fr", "/portail?ref=", "/meteo/"),
        static("c.woopic.com", "akamai", 6), *_t("xiti", "sas"))),
    Site("googlefr", "https", "fr", 14, "web", (
        page("www.google.fr", "google", "/search?q="), static("www.gstatic.com", "google", 3))),
    Site("wikifr", "https", "fr", 3, "web", (
        page("fr.wikipedia.org", "own", "/wiki/Special:Random?n="),
        static("upload.wikimedia.org", "own", 4))),
    Site("dailymotion", "http", "fr", 5.5, "video", (
        page("www.dailymotion.com", "akamai", "/video/x"), static("s1.dmcdn.net", "akamai", 4),
        video("vid2.ec.dmcdn.net", "akamai"), *_t("ga", "sas"))),
    # United Kingdom
    Site("bbc", "http", "uk", 10, "web", (
        page("www.bbc.co.uk", "own-uk", "/news/uk-", "/sport/football/"),
        static("static.bbci.co.uk", "akamai", 5), static("ichef.bbci.co.uk", "akamai", 6),
        *_t("bbc", "sc"))),
    Site("dailymail", "http", "uk", 6, "web", (
        page("www.dailymail.co.uk", "akamai", "/news/article-", "/tvshowbiz/article-"),
        static("i.dailymail.co.uk", "akamai", 12), *_t("ads", "qs", "sc", "ga"))),
    Site("guardian", "http", "uk", 5, "web", (
        page("www.theguardian.com", "fastly", "/uk-news/2015/oct/", "/football/2015/oct/"),
        static("i.guim.co.uk", "fastly"), static("assets.guim.co.uk", "fastly", 4), *_t("ophan", "sc"))),
    Site("ebay", "http", "uk", 4, "web", (
        page("www.ebay.co.uk", "akamai", "/itm/", "/sch/i.html?_nkw="),
        static("i.ebayimg.com", "akamai", 10), *_t("ads", "ga"))),
    Site("rightmove", "http", "uk", 2, "web", (
        page("www.rightmove.co.uk", "akamai", "/property-for-sale/property-", "/property-to-rent/"),
        static("media.rightmove.co.uk", "akamai", 10), *_t("ga", "adnxs"))),
    Site("nottinghampost", "http", "uk", 2, "web", (
        page("www.nottinghampost.com", "own-uk", "/news/story-", "/sport/story-"),
        static("images.nottinghampost.com", "own-uk"), *_t("qs", "ads", "sc"))),
    Site("googleuk", "https", "uk", 14, "web", (
        page("www.google.co.uk", "google", "/search?q="), static("www.gstatic.com", "google", 3))),
    Site("amazon", "https", "uk", 5, "web", (
        page("www.amazon.co.uk", "cloudfront", "/gp/product/B00"),
        static("images-eu.ssl-images-amazon.com", "cloudfront", 12),
        _tracker("fls-eu.amazon.co.uk", "own", "/1/batch/1/OP/A1F83G8C2ARO7P:", "", "text/plain"))),
    Site("iplayer", "http", "uk", 6.5, "video", (
        page("www.bbc.co.uk", "own-uk", "/iplayer/episode/b06"), static("static.bbci.co.uk", "akamai", 4),
        video("vod-dash-uk-live.akamaized.net", "akamai"), *_t("bbc",))),
    # Everyone
    Site("facebook", "https", "*", 12, "web", (
        page("www.facebook.com", "facebook", "/?sk=h_chr&n="), static("static.xx.fbcdn.net", "facebook", 6),
        static("scontent.xx.fbcdn.net", "facebook", 10))),
    Site("gmail", "https", "*", 6, "web", (
        page("mail.google.com", "google-alias", "/mail/u/0/?ui=2&ik="),
        static("ssl.gstatic.com", "google", 3))),
    Site("twitter", "https", "*", 3, "web", (
        page("twitter.com", "own", "/i/timeline?n="), static("abs.twimg.com", "akamai-ssl", 4),
        static("pbs.twimg.com", "akamai-ssl", 8))),
    Site("imgur", "http", "*", 2, "web", (
        page("imgur.com", "fastly", "/gallery/"), static("i.imgur.com", "fastly", 12), *_t("qs", "ga"))),
    Site("outlook", "https", "*", 3, "web", (
        page("outlook.live.com", "microsoft", "/owa/?path=/mail/inbox&n="),)),
    Site("youtube", "https", "*", 10, "video", (
        page("www.youtube.com", "google", "/watch?v="), static("i.ytimg.com", "google", 6),
        video("r4---sn-25ge7nsl.googlevideo.com", "googlevideo"), *_t("ads",))),
    Site("netflix", "https", "*", 4, "video", (
        page("www.netflix.com", "own", "/watch/8"), static("assets.nflxext.com", "akamai-ssl", 4),
        video("ipv4-c011-lhr001-ix.1.oca.nflxvideo.net", "own"))),
)
