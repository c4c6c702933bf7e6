"""A visit's first touch: channel, source, keyword, campaign, medium, ad click id, landing page
and referrer domain, read from the landing URL first (utm_*, the ad platforms' keyword
parameters and click ids) and then, best effort, from the referrer. Search engines withhold
organic keywords, so a search or ad visit without one says "(not provided)".

Chinese traffic has its own shape, which the tables below follow: Baidu's mobile ``word`` and
its older pages' GBK-encoded keywords, the ad-click redirects (``baidu.php``), apps that send
``android-app://<package>`` or no referrer at all (WeChat's and Douyin's in-app browsers: their
user agent, or WeChat's ``from=singlemessage`` on a shared link, says where the visitor was)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import NamedTuple
from urllib.parse import parse_qs, quote, unquote, unquote_to_bytes, urlsplit

from app.analytics.models import NOT_PROVIDED


class Site(NamedTuple):
    channel: str  # search, social, email or paid
    source: str
    keyword_keys: tuple[str, ...] = ()  # a search engine's query parameters, in order
    ad_paths: tuple[str, ...] = ()  # its ad clicks' redirect pages: a paid visit


# A domain covers its subdomains (m.baidu.com is Baidu's) and the most specific one wins
# (tieba.baidu.com is a forum, mail.qq.com a mailbox); "google.*" takes any country ending
# (google.com.hk, google.co.jp). Android apps' referrers are their package names.
SEARCH = {
    "baidu": (
        ("baidu.com", "com.baidu.searchbox"),
        ("wd", "word", "kw"),
        ("/baidu.php", "/adrc.php"),
    ),
    "google": (("google.*", "com.google.android.googlequicksearchbox"), ("q",), ()),
    "bing": (("bing.com",), ("q",), ()),
    "360": (("so.com", "haosou.com"), ("q",), ()),
    "sogou": (("sogou.com",), ("query", "keyword"), ()),
    "shenma": (("sm.cn",), ("q",), ()),  # UC's and Quark's search
    "toutiao": (("so.toutiao.com",), ("keyword",), ()),
    "yahoo": (("yahoo.*",), ("p",), ()),
    "yandex": (("yandex.*",), ("text",), ()),
    "duckduckgo": (("duckduckgo.com",), ("q",), ()),
    "naver": (("naver.com",), ("query",), ()),
}
SOCIAL = {
    "wechat": ("weixin.qq.com", "wx.qq.com", "servicewechat.com", "com.tencent.mm"),
    "qzone": ("qzone.qq.com",),
    "weibo": ("weibo.com", "weibo.cn", "t.cn", "com.sina.weibo"),
    "douyin": ("douyin.com", "iesdouyin.com", "com.ss.android.ugc.aweme"),
    "kuaishou": ("kuaishou.com", "gifshow.com", "com.smile.gifmaker"),
    "xiaohongshu": ("xiaohongshu.com", "xhslink.com", "com.xingin.xhs"),
    "zhihu": ("zhihu.com", "com.zhihu.android"),
    "bilibili": ("bilibili.com", "b23.tv", "tv.danmaku.bili"),
    "toutiao": ("toutiao.com", "com.ss.android.article.news"),
    "tieba": ("tieba.baidu.com",),  # Baidu's forums and Q&A are people's posts, not a search
    "zhidao": ("zhidao.baidu.com",),
    "baijiahao": ("baijiahao.baidu.com",),
    "douban": ("douban.com",),
    "facebook": ("facebook.com", "fb.com", "fb.me", "messenger.com"),
    "instagram": ("instagram.com",),
    "twitter": ("twitter.com", "x.com", "t.co"),
    "linkedin": ("linkedin.com", "lnkd.in"),
    "youtube": ("youtube.com", "youtu.be"),
    "tiktok": ("tiktok.com",),
    "reddit": ("reddit.com",),
    "pinterest": ("pinterest.com", "pin.it"),
}
MAIL = {
    "qqmail": ("mail.qq.com", "exmail.qq.com", "com.tencent.androidqqmail"),
    "163mail": ("mail.163.com",),
    "126mail": ("mail.126.com",),
    "sinamail": ("mail.sina.com.cn",),
    "aliyunmail": ("mail.aliyun.com", "qiye.aliyun.com"),
    "gmail": ("mail.google.com", "com.google.android.gm"),
    "outlook": ("outlook.live.com", "outlook.office.com", "outlook.office365.com"),
    "yahoomail": ("mail.yahoo.com",),
}
AD_NETWORKS = {"google": ("googleadservices.com", "doubleclick.net", "googlesyndication.com")}
SITES: dict[str, Site] = {
    **{d: Site("search", n, keys, ads) for n, (ds, keys, ads) in SEARCH.items() for d in ds},
    **{d: Site("social", n) for n, ds in SOCIAL.items() for d in ds},
    **{d: Site("email", n) for n, ds in MAIL.items() for d in ds},
    **{d: Site("paid", n) for n, ds in AD_NETWORKS.items() for d in ds},
}
# No referrer, but the browser is an app's own (lower-cased user-agent token -> its site) ...
IN_APP = {
    "micromessenger": "com.tencent.mm",  # WeChat (and WeCom)
    "baiduboxapp": "com.baidu.searchbox",  # the Baidu app: China's biggest mobile search
    "__weibo__": "com.sina.weibo",
    "aweme": "com.ss.android.ugc.aweme",  # Douyin
    "xhsdiscover": "com.xingin.xhs",
    "zhihuhybrid": "com.zhihu.android",
    "biliapp": "tv.danmaku.bili",
    "fban/": "facebook.com",
    "instagram": "instagram.com",
}
# ... or the link says where it was shared (WeChat adds ``from`` to a link opened from a chat,
# a group or Moments; Facebook adds ``fbclid`` to every link out, paid or not).
SHARED = {
    ("from", "singlemessage"): "com.tencent.mm",
    ("from", "groupmessage"): "com.tencent.mm",
    ("from", "timeline"): "com.tencent.mm",
    ("fbclid", "*"): "facebook.com",
}
# What a hand-typed utm_source may call a site.
SOURCE_ALIASES = {
    "weixin": "wechat",
    "wx": "wechat",
    "微信": "wechat",
    "百度": "baidu",
    "谷歌": "google",
    "必应": "bing",
    "搜狗": "sogou",
    "神马": "shenma",
    "qihoo": "360",
    "微博": "weibo",
    "抖音": "douyin",
    "快手": "kuaishou",
    "小红书": "xiaohongshu",
    "xhs": "xiaohongshu",
    "知乎": "zhihu",
    "头条": "toutiao",
    "今日头条": "toutiao",
    "b站": "bilibili",
    "fb": "facebook",
    "ig": "instagram",
}
KNOWN_SOURCES = {site.source: site for site in SITES.values() if site.channel != "paid"}
# click id parameter -> the ad platform it belongs to
CLICK_IDS = {
    "gclid": "google",
    "gbraid": "google",
    "wbraid": "google",
    "dclid": "google",
    "msclkid": "bing",
    "bd_vid": "baidu",
    "qhclickid": "360",
    "sogou_vid": "sogou",
    "sm_vid": "shenma",
    "gdt_vid": "tencent",  # Tencent ads (WeChat, QQ)
    "qz_gdt": "tencent",
    "ttclid": "tiktok",
    "yclid": "yandex",
}
# ad platforms' own keyword parameters, read only on an ad's landing page: elsewhere ``kw``
# may be the shop's own site search
AD_KEYWORD_KEYS = ("keyword", "kw", "bd_kw", "_kw")
PAID_MEDIUMS = "cpc ppc paid paidsearch paid_search sem ocpc cpm cpa cpv ad ads display banner"
MEDIUMS = {  # utm_medium, its separators as "_" -> the channel it says
    **dict.fromkeys((*PAID_MEDIUMS.split(), "retargeting", "paid_social"), "paid"),
    **dict.fromkeys(("organic", "seo"), "search"),
    **dict.fromkeys(("social", "social_network", "social_media", "sns"), "social"),
    **dict.fromkeys(("email", "e_mail", "mail", "edm", "newsletter"), "email"),
    **dict.fromkeys(("referral", "affiliate"), "referral"),
}
DEFAULT_MEDIUM = {
    "paid": "cpc",
    "search": "organic",
    "referral": "referral",
    "social": "social",
    "email": "email",
}
REFERRER_SCHEMES = ("http", "https", "android-app")
SITE_PREFIXES = ("www.", "m.", "wap.", "mobile.")
# an ad platform's placeholder left unfilled: {keyword}, {{keyword}}, __CLICKID__
PLACEHOLDER = re.compile(r"^(\{+[^{}]*\}+|__[A-Z_]+__)$")
PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
NON_ASCII = re.compile(r"[^\x00-\x7f]+")


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


def first_touch(url: str, referrer: str, *, own_domains=(), user_agent: str = "") -> Touch:
    """Where a visit that landed on ``url`` from ``referrer`` came from. A referrer on the
    shop's own site (its www./m. hosts, ``own_domains`` — the chat's allowed domains) is a
    visit resumed, not a source."""
    page, ref = _split(url), _split(referrer)
    landing = _params(page.query)
    ref_host = _host(ref) if ref.scheme in REFERRER_SCHEMES else ""
    if ref_host and _own(ref_host, _host(page), own_domains):
        ref_host = ""
    site = _site(ref_host) if ref_host else _hinted(landing, user_agent)
    if site and site.ad_paths and ref.path in site.ad_paths:
        site = site._replace(channel="paid")
    utm = {k: _first(landing, (f"utm_{k}",)) for k in ("source", "medium", "campaign", "term")}
    medium = utm["medium"].lower()
    click = next(((k, v) for k in CLICK_IDS if (v := _first(landing, (k,)))), None)
    named = _source_name(utm["source"])
    channel = _channel(click is not None, medium, named, site, ref_host)
    source = named or (CLICK_IDS[click[0]] if click else "") or (site.source if site else "")
    keyword = utm["term"]
    if not keyword and channel == "paid":
        keyword = _first(landing, AD_KEYWORD_KEYS)
    if not keyword and site and site.keyword_keys:
        keyword = _first(_params(ref.query), site.keyword_keys)
    if not keyword and channel in ("paid", "search"):
        keyword = NOT_PROVIDED
    return Touch(
        channel=channel,
        source=(source or _without_www(ref_host))[:60],
        keyword=keyword[:200],
        campaign=utm["campaign"][:200],
        medium=(medium or DEFAULT_MEDIUM.get(channel, ""))[:60],
        click_id=f"{click[0]}:{click[1]}"[:200] if click else "",
        landing_page=_text(unquote(page.path, errors="replace"))[:300] or "/",
        referrer_domain=_without_www(ref_host)[:253],
    )


def _channel(clicked: bool, medium: str, named: str, site: Site | None, ref_host: str) -> str:
    """An ad click, else what the campaign's tags say, else the referring site."""
    if clicked:
        return "paid"
    return (
        MEDIUMS.get(re.sub(r"[\s-]+", "_", medium))
        or (KNOWN_SOURCES[named].channel if named in KNOWN_SOURCES else None)
        or (site.channel if site else None)
        or ("referral" if named or ref_host else "direct")
    )


def _split(url: str | None):
    try:
        return urlsplit((url or "").strip())
    except ValueError:  # a malformed address (an unclosed IPv6 bracket): no information
        return urlsplit("")


def _host(parts) -> str:
    try:
        return (parts.hostname or "").rstrip(".")
    except ValueError:
        return ""


def _bare(host: str) -> str:
    return next((host[len(p) :] for p in SITE_PREFIXES if host.startswith(p)), host)


def _own(ref_host: str, page_host: str, own_domains) -> bool:
    ref = _bare(ref_host)
    ours = {_bare(page_host), *own_domains} - {""}
    return any(ref == d or ref.endswith("." + d) for d in ours)


def _site(host: str) -> Site | None:
    """The known site ``host`` belongs to: its most specific listed domain."""
    labels = host.split(".")
    for i, label in enumerate(labels):
        found = SITES.get(".".join(labels[i:]))
        if found is None and _country_ending(labels[i + 1 :]):
            found = SITES.get(f"{label}.*")
        if found is not None:
            return found
    return None


def _country_ending(labels: list[str]) -> bool:
    """com, de, com.hk, co.jp: what follows a brand's name in its country sites."""
    return 1 <= len(labels) <= 2 and all(part.isalpha() and 2 <= len(part) <= 3 for part in labels)


def _hinted(landing: dict[str, list[str]], user_agent: str) -> Site | None:
    """A visit without a referrer: the link's sharing marks, else the app it was opened in."""
    for (key, value), site in SHARED.items():
        if any(value in ("*", v.lower()) for v in landing.get(key, ())):
            return SITES[site]
    agent = (user_agent or "").lower()
    return next((SITES[site] for token, site in IN_APP.items() if token in agent), None)


def _source_name(typed: str) -> str:
    """utm_source as a source: lower case, and a known site's name for its aliases and
    domains (百度, weixin, m.baidu.com)."""
    name = typed.lower()
    if name in SOURCE_ALIASES:
        return SOURCE_ALIASES[name]
    site = _site(name) if "." in name else None
    return site.source if site else name


def _params(query: str) -> dict[str, list[str]]:
    """A query string's values by lower-cased key, each decoded as its bytes say: the charset
    the page declared (Baidu's and Google's ``ie``), else UTF-8, else GB18030 (GBK and
    GB2312's superset, what older Chinese pages send)."""
    ascii_query = NON_ASCII.sub(lambda m: quote(m.group()), query)
    raw: dict[str, list[str]] = {}
    for key, values in parse_qs(ascii_query, encoding="latin-1").items():
        raw.setdefault(key.lower(), []).extend(values)
    declared = (raw.get("ie") or [""])[0]
    return {k: [_decode(v.encode("latin-1"), declared) for v in vs] for k, vs in raw.items()}


def _decode(data: bytes, declared: str) -> str:
    text = data.decode("utf-8", errors="replace")
    for codec in (declared, "utf-8", "gb18030"):
        try:
            text = data.decode(codec)
            break
        except (LookupError, UnicodeDecodeError):
            continue
    if PERCENT_ESCAPE.search(text):  # escaped twice (an ad platform's filled-in macro)
        try:
            return unquote_to_bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            pass
    return text


def _text(value: str) -> str:
    """One line, single-spaced, without control characters."""
    return " ".join("".join(ch for ch in value if ch >= " " or ch in "\t\n").split())


def _first(query: dict[str, list[str]], keys) -> str:
    for key in keys:
        for value in query.get(key, ()):
            text = _text(value)
            if text and not PLACEHOLDER.match(text):
                return text
    return ""


def _without_www(host: str) -> str:
    return host[4:] if host.startswith("www.") else host
