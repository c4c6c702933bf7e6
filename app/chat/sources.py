"""Where a visit came from: search engine and keyword, campaign (utm_*, click ids), referrer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

# host fragment -> (source name, query parameters that carry the keyword, in order)
SEARCH_ENGINES = [
    ("baidu.", "baidu", ("wd", "word", "kw")),
    ("google.", "google", ("q",)),
    ("bing.", "bing", ("q",)),
    ("so.com", "360", ("q",)),
    ("sogou.", "sogou", ("query", "keyword")),
    ("sm.cn", "shenma", ("q",)),
    ("yahoo.", "yahoo", ("p",)),
    ("duckduckgo.", "duckduckgo", ("q",)),
    ("yandex.", "yandex", ("text",)),
]
CAMPAIGN_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
CLICK_IDS = ("gclid", "bd_vid", "msclkid", "fbclid", "qhclickid")


def _first(query: dict[str, list[str]], keys) -> str:
    for key in keys:
        if query.get(key) and query[key][0].strip():
            return query[key][0].strip()
    return ""


def classify(url: str, referrer: str, own_host: str = "") -> tuple[str, str, dict]:
    """(source, keyword, campaign) of a landing page and its referrer."""
    page = parse_qs(urlsplit(url or "").query)
    campaign = {k: page[k][0][:200] for k in (*CAMPAIGN_KEYS, *CLICK_IDS) if page.get(k)}
    ref = urlsplit(referrer or "")
    host = (ref.hostname or "").lower()
    keyword = campaign.get("utm_term", "")
    if host:
        for fragment, name, keys in SEARCH_ENGINES:
            if fragment in host:
                found = _first(parse_qs(ref.query), keys)
                return name, (found or keyword)[:200], campaign
    if campaign.get("utm_source"):
        return campaign["utm_source"][:40], keyword[:200], campaign
    if host and host != own_host:
        return "referral", keyword[:200], campaign
    return "direct", keyword[:200], campaign
