"""A visit's first touch: channel, source, keyword, campaign, medium, ad click id, landing page
and referrer domain, read from the landing URL first (utm_*, the ad platforms' keyword
parameters and click ids) and then, best effort, from the referrer. Search engines withhold
organic keywords, so a search or ad visit without one says "(not provided)"."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import parse_qs, urlsplit

from app.analytics.models import NOT_PROVIDED

# engine -> (registered domains, query parameters that carry the keyword, in order)
SEARCH_ENGINES = {
    "baidu": (("baidu.com",), ("wd", "word", "kw")),
    "google": (("google.",), ("q",)),
    "bing": (("bing.com",), ("q",)),
    "360": (("so.com", "haosou.com"), ("q",)),
    "sogou": (("sogou.com",), ("query", "keyword")),
    "shenma": (("sm.cn",), ("q",)),
    "yahoo": (("yahoo.",), ("p",)),
    "duckduckgo": (("duckduckgo.com",), ("q",)),
    "yandex": (("yandex.",), ("text",)),
    "naver": (("naver.com",), ("query",)),
}
SOCIAL = {
    "weibo": ("weibo.com", "weibo.cn", "t.cn"),
    "wechat": ("weixin.qq.com", "wx.qq.com"),
    "qzone": ("qzone.qq.com",),
    "douyin": ("douyin.com", "iesdouyin.com"),
    "kuaishou": ("kuaishou.com",),
    "xiaohongshu": ("xiaohongshu.com", "xhslink.com"),
    "zhihu": ("zhihu.com",),
    "bilibili": ("bilibili.com", "b23.tv"),
    "tieba": ("tieba.baidu.com",),
    "douban": ("douban.com",),
    "facebook": ("facebook.com", "fb.com", "fb.me"),
    "instagram": ("instagram.com",),
    "twitter": ("twitter.com", "x.com", "t.co"),
    "linkedin": ("linkedin.com", "lnkd.in"),
    "youtube": ("youtube.com", "youtu.be"),
    "tiktok": ("tiktok.com",),
    "reddit": ("reddit.com",),
    "pinterest": ("pinterest.com",),
}
MAIL = (
    "mail.qq.com",
    "exmail.qq.com",
    "mail.163.com",
    "mail.126.com",
    "mail.sina.com.cn",
    "mail.aliyun.com",
    "mail.google.com",
    "outlook.live.com",
    "outlook.office.com",
    "outlook.office365.com",
    "mail.yahoo.com",
)
# click id parameter -> the ad platform it belongs to
CLICK_IDS = {
    "gclid": "google",
    "gbraid": "google",
    "wbraid": "google",
    "msclkid": "bing",
    "bd_vid": "baidu",
    "qhclickid": "360",
    "sogou_vid": "sogou",
    "sm_vid": "shenma",
}
# ad platforms' own keyword parameters, read only on an ad's landing page: elsewhere ``kw``
# may be the shop's own site search
AD_KEYWORD_KEYS = ("keyword", "kw", "bd_kw", "_kw")
PAID_MEDIUMS = {
    "cpc",
    "ppc",
    "paid",
    "paidsearch",
    "paid_search",
    "sem",
    "cpm",
    "cpa",
    "cpv",
    "ad",
    "ads",
    "display",
    "banner",
    "retargeting",
    "paid_social",
    "paidsocial",
}
SOCIAL_MEDIUMS = {"social", "social-network", "social_network", "social-media", "sns", "sm"}
MAIL_MEDIUMS = {"email", "e-mail", "e_mail", "mail", "edm", "newsletter"}


@dataclass(frozen=True)
class Touch:
    channel: str
    source: str = ""
    keyword: str = ""
    campaign: str = ""
    medium: str = ""
    click_id: str = ""
    landing_page: str = ""
    referrer_domain: str = ""

    def columns(self) -> dict:
        return asdict(self)


def _host_in(host: str, domains) -> bool:
    """``host`` is one of ``domains`` or under one; a domain ending in "." takes any suffix
    (google. matches google.com.hk)."""
    for domain in domains:
        if domain.endswith("."):
            if host.startswith(domain) or f".{domain}" in f".{host}":
                return True
        elif host == domain or host.endswith("." + domain):
            return True
    return False


def _first(query: dict[str, list[str]], keys) -> str:
    for key in keys:
        for value in query.get(key, ()):
            if value.strip():
                return value.strip()
    return ""


def _engine(host: str) -> str:
    return next((n for n, (domains, _) in SEARCH_ENGINES.items() if _host_in(host, domains)), "")


def _social(host: str) -> str:
    return next((n for n, domains in SOCIAL.items() if _host_in(host, domains)), "")


def first_touch(url: str, referrer: str) -> Touch:
    """Where a visit that landed on ``url`` from ``referrer`` came from."""
    page = urlsplit(url or "")
    landing = parse_qs(page.query)
    ref = urlsplit(referrer or "")
    ref_host = (ref.hostname or "").lower()
    own_host = (page.hostname or "").lower()
    if ref_host == own_host or ref.scheme not in ("http", "https", "android-app"):
        ref_host = ""  # from the shop's own pages (a visit resumed), or no usable referrer
    utm = {
        k: _first(landing, (f"utm_{k}",))[:200] for k in ("source", "medium", "campaign", "term")
    }
    medium = utm["medium"].lower()
    click = next(((k, v) for k in CLICK_IDS if (v := _first(landing, (k,)))), None)
    engine = _engine(ref_host) if ref_host else ""
    social = _social(ref_host) if ref_host else ""
    if social == "tieba":
        engine = ""  # Baidu's forum is a social site on a search engine's domain
    mail = ref_host and _host_in(ref_host, MAIL)

    if click or medium in PAID_MEDIUMS:
        channel = "paid"
    elif medium in MAIL_MEDIUMS or mail:
        channel = "email"
    elif medium in SOCIAL_MEDIUMS or social:
        channel = "social"
    elif medium == "organic" or engine:
        channel = "search"
    elif utm["source"]:
        source_name = utm["source"].lower()
        channel = (
            "search"
            if source_name in SEARCH_ENGINES
            else "social"
            if source_name in SOCIAL
            else "referral"
        )
    elif ref_host:
        channel = "referral"
    else:
        channel = "direct"

    source = (
        utm["source"]
        or (CLICK_IDS[click[0]] if click else "")
        or engine
        or social
        or _without_www(ref_host)
    )
    keyword = utm["term"]
    if not keyword and channel == "paid":
        keyword = _first(landing, AD_KEYWORD_KEYS)
    if not keyword and engine:
        keyword = _first(parse_qs(ref.query), SEARCH_ENGINES[engine][1])
    if not keyword and channel in ("paid", "search"):
        keyword = NOT_PROVIDED
    if not medium:
        medium = {
            "paid": "cpc",
            "search": "organic",
            "referral": "referral",
            "social": "social",
            "email": "email",
        }.get(channel, "")
    return Touch(
        channel=channel,
        source=source.lower()[:60],
        keyword=" ".join(keyword.split())[:200],
        campaign=utm["campaign"],
        medium=medium[:60],
        click_id=f"{click[0]}:{click[1]}"[:200] if click else "",
        landing_page=(page.path or "/")[:300],
        referrer_domain=_without_www(ref_host)[:253],
    )


def _without_www(host: str) -> str:
    return host[4:] if host.startswith("www.") else host
