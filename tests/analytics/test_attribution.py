"""Where a visit came from, read as a Chinese shop's traffic really arrives: Baidu's desktop
``wd``, mobile ``word`` and its GBK pages, its ad clicks, Google's hidden keywords, the other
engines, apps that send no referrer (WeChat, Douyin) or an ``android-app://`` one, mailboxes,
the shop's own pages, hand-typed utm tags and addresses that are broken or far too long."""

from __future__ import annotations

import pytest

from app.analytics.attribution import Touch, first_touch
from app.analytics.models import NOT_PROVIDED

SHOP = "https://tea-shop.example/longjing"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)
DOUYIN_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2227A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/91.0.4472.114 Mobile Safari/537.36 aweme_290100 JsSdk/1.0 "
    "NetType/WIFI Channel/vivo_1128_64 app_version/29.1.0 ByteLocale/zh-CN"
)
BAIDU_APP_UA = (
    "Mozilla/5.0 (Linux; Android 12; PEHM00) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/97.0.4692.98 Mobile Safari/537.36 T7/13.44 SP-engine/2.82.0 "
    "baiduboxapp/13.44.0.10 (Baidu; P1 12) NABar/1.0"
)

# (what, landing URL, referrer, (channel, source, keyword), other fields expected, options)
CASES = [
    # --- Baidu, organic ------------------------------------------------------------------
    (
        "baidu desktop wd",
        SHOP,
        "https://www.baidu.com/s?ie=utf-8&f=8&rsv_bp=1&tn=baidu"
        "&wd=%E9%BE%99%E4%BA%95%E8%8C%B6&oq=&rsv_pq=e2c1a4b8000a1b2c",
        ("search", "baidu", "龙井茶"),
        {"medium": "organic", "referrer_domain": "baidu.com", "landing_page": "/longjing"},
    ),
    (
        "baidu mobile word, spaces as +",
        SHOP,
        "https://m.baidu.com/from=844b/s?word=%E9%BE%99%E4%BA%95+%E6%98%8E%E5%89%8D&sa=ikb",
        ("search", "baidu", "龙井 明前"),
        {"referrer_domain": "m.baidu.com"},
    ),
    (
        "baidu ie=gbk",
        SHOP,
        "https://www.baidu.com/s?ie=gbk&wd=%C1%FA%BE%AE%B2%E8",
        ("search", "baidu", "龙井茶"),
        {},
    ),
    (
        "baidu ie=gb2312 after the keyword",
        SHOP,
        "http://www.baidu.com/s?wd=%CE%F7%BA%FE%C1%FA%BE%AE&ie=gb2312",
        ("search", "baidu", "西湖龙井"),
        {},
    ),
    (
        "baidu GBK without ie",
        SHOP,
        "http://www.baidu.com/s?wd=%C1%FA%BE%AE%20%C3%F7%C7%B0",
        ("search", "baidu", "龙井 明前"),
        {},
    ),
    (
        "baidu keyword not escaped",
        SHOP,
        "https://www.baidu.com/s?wd=龙井茶 价格",
        ("search", "baidu", "龙井茶 价格"),
        {},
    ),
    (
        "baidu result link hides the keyword",
        SHOP,
        "https://www.baidu.com/link?url=Yz7vH0q3kW5kFf8Xn2xJ_aB&wd=&eqid=d5f0a2b1000c3e4f",
        ("search", "baidu", NOT_PROVIDED),
        {},
    ),
    ("baidu origin only", SHOP, "https://www.baidu.com/", ("search", "baidu", NOT_PROVIDED), {}),
    (
        "baidu app as android referrer",
        SHOP,
        "android-app://com.baidu.searchbox",
        ("search", "baidu", NOT_PROVIDED),
        {"referrer_domain": "com.baidu.searchbox"},
    ),
    (
        "baidu app without referrer",
        SHOP,
        "",
        ("search", "baidu", NOT_PROVIDED),
        {"referrer_domain": "", "medium": "organic"},
        {"user_agent": BAIDU_APP_UA},
    ),
    # --- Baidu, ads ------------------------------------------------------------------------
    (
        "baidu ad: bd_vid and utm",
        f"{SHOP}?bd_vid=11889900223344556677&utm_source=baidu&utm_medium=cpc"
        "&utm_campaign=%E6%98%A5%E8%8C%B6&utm_term=%E9%BE%99%E4%BA%95%E8%8C%B6",
        "https://www.baidu.com/baidu.php?url=K00000aBcDeFgHiJ.7Y_NR2Ar5Od663rj6t",
        ("paid", "baidu", "龙井茶"),
        {"campaign": "春茶", "medium": "cpc", "click_id": "bd_vid:11889900223344556677"},
    ),
    (
        "baidu ad: bd_vid only",
        f"{SHOP}?bd_vid=7766",
        "https://m.baidu.com/baidu.php?url=a000000aBc",
        ("paid", "baidu", NOT_PROVIDED),
        {"medium": "cpc", "click_id": "bd_vid:7766", "referrer_domain": "m.baidu.com"},
    ),
    (
        "baidu ad click redirect without tags",
        SHOP,
        "https://www.baidu.com/baidu.php?url=K00000aBcDeF",
        ("paid", "baidu", NOT_PROVIDED),
        {"click_id": ""},
    ),
    (
        "baidu ad: macro left unfilled, the ad's keyword parameter",
        f"{SHOP}?utm_source=baidu&utm_medium=cpc&utm_term={{keyword}}&keyword=%E9%BE%99%E4%BA%95",
        "",
        ("paid", "baidu", "龙井"),
        {},
    ),
    (
        "baidu ad: keyword escaped twice",
        f"{SHOP}?utm_source=baidu&utm_medium=cpc&utm_term=%25E9%25BE%2599%25E4%25BA%2595",
        "",
        ("paid", "baidu", "龙井"),
        {},
    ),
    (
        "baidu ad: GBK keyword in utm_term",
        f"{SHOP}?utm_source=baidu&utm_medium=cpc&utm_term=%C1%FA%BE%AE%B2%E8",
        "",
        ("paid", "baidu", "龙井茶"),
        {},
    ),
    # --- Google ----------------------------------------------------------------------------
    ("google.com", SHOP, "https://www.google.com/", ("search", "google", NOT_PROVIDED), {}),
    (
        "google.com.hk",
        SHOP,
        "https://www.google.com.hk/",
        ("search", "google", NOT_PROVIDED),
        {"referrer_domain": "google.com.hk", "medium": "organic"},
    ),
    (
        "google.co.jp with q",
        SHOP,
        "https://www.google.co.jp/search?q=matcha+powder&hl=ja",
        ("search", "google", "matcha powder"),
        {},
    ),
    (
        "google app",
        SHOP,
        "android-app://com.google.android.googlequicksearchbox/https/www.google.com",
        ("search", "google", NOT_PROVIDED),
        {},
    ),
    (
        "google ads gclid",
        f"{SHOP}?gclid=Cj0KCQiA6Ou5BhCrARIsAPoTxrC9_xY",
        "https://www.google.com/",
        ("paid", "google", NOT_PROVIDED),
        {"medium": "cpc", "click_id": "gclid:Cj0KCQiA6Ou5BhCrARIsAPoTxrC9_xY"},
    ),
    (
        "google ads gbraid (iOS)",
        f"{SHOP}?gbraid=0AAAAAD_abc",
        "",
        ("paid", "google", NOT_PROVIDED),
        {"click_id": "gbraid:0AAAAAD_abc", "referrer_domain": ""},
    ),
    (
        "google ads wbraid",
        f"{SHOP}?wbraid=ClkKCQjw",
        "https://www.google.com/",
        ("paid", "google", NOT_PROVIDED),
        {"click_id": "wbraid:ClkKCQjw"},
    ),
    (
        "google ads with utm_term",
        f"{SHOP}?utm_source=google&utm_medium=cpc&utm_campaign=longjing_hk&utm_term=dragon+well"
        "&gclid=EAIaIQ",
        "https://www.google.com.hk/",
        ("paid", "google", "dragon well"),
        {"campaign": "longjing_hk", "click_id": "gclid:EAIaIQ"},
    ),
    (
        "google ad click redirect",
        SHOP,
        "https://www.googleadservices.com/pagead/aclk?sa=L&ai=DChcSEwi",
        ("paid", "google", NOT_PROVIDED),
        {},
    ),
    (
        "a host that only starts with google",
        SHOP,
        "https://google.evil.example/",
        ("referral", "google.evil.example", ""),
        {"medium": "referral"},
    ),
    # --- Bing, 360, Sogou, Shenma, Toutiao, Yahoo, Yandex, DuckDuckGo --------------------------
    (
        "bing cn",
        SHOP,
        "https://cn.bing.com/search?q=longjing+tea&form=QBLH&sp=-1",
        ("search", "bing", "longjing tea"),
        {"referrer_domain": "cn.bing.com"},
    ),
    (
        "bing ads msclkid",
        f"{SHOP}?msclkid=6b1c8f1e2a3d1c0e&utm_source=bing&utm_medium=cpc&utm_term=green%20tea",
        "https://www.bing.com/",
        ("paid", "bing", "green tea"),
        {"click_id": "msclkid:6b1c8f1e2a3d1c0e"},
    ),
    (
        "bing ads msclkid alone",
        f"{SHOP}?msclkid=abc123",
        "",
        ("paid", "bing", NOT_PROVIDED),
        {},
    ),
    (
        "360 so.com",
        SHOP,
        "https://www.so.com/s?ie=utf-8&fr=none&src=360sou_newhome&q=%E7%BB%BF%E8%8C%B6",
        ("search", "360", "绿茶"),
        {"referrer_domain": "so.com"},
    ),
    (
        "360 mobile",
        SHOP,
        "https://m.so.com/s?q=%E7%BB%BF%E8%8C%B6&src=home",
        ("search", "360", "绿茶"),
        {},
    ),
    (
        "sogou query",
        SHOP,
        "https://www.sogou.com/web?query=%E7%BB%BF%E8%8C%B6&_asf=www.sogou.com&ie=utf8",
        ("search", "sogou", "绿茶"),
        {},
    ),
    (
        "sogou mobile keyword",
        SHOP,
        "https://m.sogou.com/web/searchList.jsp?keyword=%E7%BB%BF%E8%8C%B6&pid=sogou-waps",
        ("search", "sogou", "绿茶"),
        {"referrer_domain": "m.sogou.com"},
    ),
    (
        "shenma",
        SHOP,
        "https://m.sm.cn/s?q=%E7%BB%BF%E8%8C%B6&from=smor&safe=1",
        ("search", "shenma", "绿茶"),
        {"referrer_domain": "m.sm.cn"},
    ),
    (
        "quark (shenma)",
        SHOP,
        "https://quark.sm.cn/s?q=%E7%BB%BF%E8%8C%B6",
        ("search", "shenma", "绿茶"),
        {},
    ),
    (
        "toutiao search",
        SHOP,
        "https://so.toutiao.com/search?keyword=%E7%BB%BF%E8%8C%B6&pd=synthesis",
        ("search", "toutiao", "绿茶"),
        {},
    ),
    (
        "yahoo",
        SHOP,
        "https://search.yahoo.com/search?p=oolong+tea&fr=yfp-t",
        ("search", "yahoo", "oolong tea"),
        {},
    ),
    (
        "yahoo japan",
        SHOP,
        "https://search.yahoo.co.jp/search?p=%E7%B7%91%E8%8C%B6",
        ("search", "yahoo", "緑茶"),
        {},
    ),
    (
        "yandex",
        SHOP,
        "https://yandex.ru/search/?text=%D1%87%D0%B0%D0%B9&lr=213",
        ("search", "yandex", "чай"),
        {},
    ),
    ("duckduckgo", SHOP, "https://duckduckgo.com/", ("search", "duckduckgo", NOT_PROVIDED), {}),
    # --- social ----------------------------------------------------------------------------
    ("weibo", SHOP, "https://weibo.com/u/1234567890", ("social", "weibo", ""), {}),
    ("weibo mobile", SHOP, "https://m.weibo.cn/status/4900", ("social", "weibo", ""), {}),
    (
        "weibo short link",
        SHOP,
        "http://t.cn/A6Xyz12",
        ("social", "weibo", ""),
        {"referrer_domain": "t.cn", "medium": "social"},
    ),
    (
        "wechat article",
        SHOP,
        "https://mp.weixin.qq.com/s/AbCdEfGhIjKlMn",
        ("social", "wechat", ""),
        {"referrer_domain": "mp.weixin.qq.com"},
    ),
    ("wechat site", SHOP, "https://weixin.qq.com/", ("social", "wechat", ""), {}),
    (
        "wechat mini program",
        SHOP,
        "https://servicewechat.com/wx1234567890abcdef/12/page-frame.html",
        ("social", "wechat", ""),
        {},
    ),
    (
        "wechat: link shared in a chat",
        f"{SHOP}?from=singlemessage&isappinstalled=0",
        "",
        ("social", "wechat", ""),
        {"referrer_domain": ""},
    ),
    (
        "wechat: link shared in a group",
        f"{SHOP}?from=groupmessage",
        "",
        ("social", "wechat", ""),
        {},
    ),
    ("wechat: moments", f"{SHOP}?from=timeline", "", ("social", "wechat", ""), {}),
    (
        "wechat's browser without referrer",
        SHOP,
        "",
        ("social", "wechat", ""),
        {"medium": "social"},
        {"user_agent": WECHAT_UA},
    ),
    ("douyin", SHOP, "https://www.douyin.com/", ("social", "douyin", ""), {}),
    (
        "douyin share page",
        SHOP,
        "https://www.iesdouyin.com/share/video/7300000000000000000/",
        ("social", "douyin", ""),
        {},
    ),
    (
        "douyin's browser without referrer",
        SHOP,
        "",
        ("social", "douyin", ""),
        {},
        {"user_agent": DOUYIN_UA},
    ),
    (
        "xiaohongshu",
        SHOP,
        "https://www.xiaohongshu.com/explore/65a1b2c3",
        ("social", "xiaohongshu", ""),
        {},
    ),
    ("xhslink", SHOP, "http://xhslink.com/a/Ab12Cd", ("social", "xiaohongshu", ""), {}),
    ("zhihu", SHOP, "https://www.zhihu.com/question/20001234", ("social", "zhihu", ""), {}),
    (
        "zhihu link redirect",
        SHOP,
        "https://link.zhihu.com/?target=https%3A//tea-shop.example/longjing",
        ("social", "zhihu", ""),
        {"referrer_domain": "link.zhihu.com"},
    ),
    (
        "bilibili",
        SHOP,
        "https://www.bilibili.com/video/BV1xx411c7XD",
        ("social", "bilibili", ""),
        {},
    ),
    ("bilibili short", SHOP, "https://b23.tv/AbCdEf", ("social", "bilibili", ""), {}),
    (
        "tieba is a forum, not baidu search",
        SHOP,
        "https://tieba.baidu.com/p/8800000000",
        ("social", "tieba", ""),
        {"referrer_domain": "tieba.baidu.com"},
    ),
    (
        "baidu zhidao",
        SHOP,
        "https://zhidao.baidu.com/question/1.html",
        ("social", "zhidao", ""),
        {},
    ),
    (
        "facebook link shim",
        SHOP,
        "https://l.facebook.com/l.php?u=https%3A%2F%2Ftea-shop.example%2F",
        ("social", "facebook", ""),
        {"referrer_domain": "l.facebook.com"},
    ),
    (
        "facebook lite link shim",
        SHOP,
        "https://lm.facebook.com/l.php?u=https%3A%2F%2Ftea-shop.example%2F",
        ("social", "facebook", ""),
        {},
    ),
    (
        "fbclid is not an ad click",
        f"{SHOP}?fbclid=IwAR2xYz",
        "",
        ("social", "facebook", ""),
        {"click_id": ""},
    ),
    ("twitter t.co", SHOP, "https://t.co/AbC123", ("social", "twitter", ""), {}),
    ("linkedin short", SHOP, "https://lnkd.in/gAbC", ("social", "linkedin", ""), {}),
    ("youtube", SHOP, "https://www.youtube.com/", ("social", "youtube", ""), {}),
    # --- e-mail ----------------------------------------------------------------------------
    (
        "qq mail",
        SHOP,
        "https://mail.qq.com/cgi-bin/readmail?folderid=1&mailid=ZC0001",
        ("email", "qqmail", ""),
        {"medium": "email"},
    ),
    ("qq mail new", SHOP, "https://wx.mail.qq.com/", ("email", "qqmail", ""), {}),
    (
        "163 mail",
        SHOP,
        "https://mail.163.com/js6/main.jsp?sid=abc&df=mail163_letter",
        ("email", "163mail", ""),
        {},
    ),
    ("outlook", SHOP, "https://outlook.live.com/", ("email", "outlook", ""), {}),
    ("gmail app", SHOP, "android-app://com.google.android.gm/", ("email", "gmail", ""), {}),
    (
        "utm_medium email",
        f"{SHOP}?utm_source=newsletter&utm_medium=email&utm_campaign=dec",
        "",
        ("email", "newsletter", ""),
        {"campaign": "dec", "medium": "email"},
    ),
    (
        "utm_medium EDM",
        f"{SHOP}?utm_source=edm-list&utm_medium=EDM",
        "",
        ("email", "edm-list", ""),
        {"medium": "edm"},
    ),
    (
        "utm_medium Newsletter beats the referrer",
        f"{SHOP}?utm_medium=Newsletter",
        "https://www.baidu.com/s?wd=tea",
        ("email", "baidu", "tea"),
        {"medium": "newsletter"},
    ),
    # --- referral, direct, the shop's own pages ----------------------------------------------
    (
        "another site",
        SHOP,
        "https://www.teaforum.example/thread/1",
        ("referral", "teaforum.example", ""),
        {"medium": "referral", "referrer_domain": "teaforum.example"},
    ),
    (
        "a navigation portal",
        SHOP,
        "https://www.hao123.com/",
        ("referral", "hao123.com", ""),
        {},
    ),
    (
        "direct",
        SHOP,
        "",
        ("direct", "", ""),
        {"medium": "", "referrer_domain": "", "campaign": "", "click_id": ""},
    ),
    (
        "own page",
        "https://tea-shop.example/cart",
        "https://tea-shop.example/longjing",
        ("direct", "", ""),
        {"referrer_domain": ""},
    ),
    (
        "own www. to m.",
        "https://m.tea-shop.example/cart",
        "https://www.tea-shop.example/longjing",
        ("direct", "", ""),
        {},
    ),
    (
        "own subdomain",
        "https://tea-shop.example/",
        "https://blog.tea-shop.example/post/1",
        ("direct", "", ""),
        {},
    ),
    (
        "the shop's allowed domain",
        "https://tea-shop.example/thanks",
        "https://pay.tea-checkout.example/done?order=1",
        ("direct", "", ""),
        {},
        {"own_domains": ["tea-checkout.example"]},
    ),
    (
        "another shop on the same platform",
        "https://shop1.youzan.example/",
        "https://shop2.youzan.example/goods/1",
        ("referral", "shop2.youzan.example", ""),
        {},
    ),
    (
        "own page with campaign tags still a campaign",
        f"{SHOP}?utm_source=weibo&utm_medium=social",
        "https://tea-shop.example/",
        ("social", "weibo", ""),
        {"referrer_domain": ""},
    ),
    # --- utm tags as people type them ----------------------------------------------------------
    (
        "utm_source baidu alone",
        f"{SHOP}?utm_source=baidu",
        "",
        ("search", "baidu", NOT_PROVIDED),
        {},
    ),
    ("utm_source weixin", f"{SHOP}?utm_source=weixin", "", ("social", "wechat", ""), {}),
    (
        "utm_source in Chinese",
        f"{SHOP}?utm_source=%E6%8A%96%E9%9F%B3",
        "",
        ("social", "douyin", ""),
        {},
    ),
    (
        "utm_source a domain",
        f"{SHOP}?utm_source=m.baidu.com&utm_medium=cpc",
        "",
        ("paid", "baidu", NOT_PROVIDED),
        {},
    ),
    (
        "utm_source unknown",
        f"{SHOP}?utm_source=partner-blog",
        "",
        ("referral", "partner-blog", ""),
        {"medium": "referral"},
    ),
    (
        "mixed case, spaces and +",
        f"{SHOP}?UTM_Source=Baidu+&utm_medium=+CPC+&utm_campaign=Spring++Sale+2027"
        "&utm_term=Long%20Jing+",
        "",
        ("paid", "baidu", "Long Jing"),
        {"campaign": "Spring Sale 2027", "medium": "cpc"},
    ),
    (
        "paid social",
        f"{SHOP}?utm_source=douyin&utm_medium=paid-social&utm_campaign=618",
        "https://www.douyin.com/",
        ("paid", "douyin", NOT_PROVIDED),
        {"medium": "paid-social", "campaign": "618"},
    ),
    (
        "tencent ads click id",
        f"{SHOP}?gdt_vid=wx0abc&weixinadinfo=123",
        "",
        ("paid", "tencent", NOT_PROVIDED),
        {"click_id": "gdt_vid:wx0abc"},
    ),
    (
        "Chinese keyword in utm_term",
        f"{SHOP}?utm_source=sogou&utm_medium=cpc&utm_term=%E6%98%8E%E5%89%8D%E9%BE%99%E4%BA%95",
        "",
        ("paid", "sogou", "明前龙井"),
        {},
    ),
    (
        "a Chinese landing path, readable",
        "https://tea-shop.example/%E9%BE%99%E4%BA%95/?a=1",
        "",
        ("direct", "", ""),
        {"landing_page": "/龙井/"},
    ),
    # --- what breaks -------------------------------------------------------------------------
    ("referrer with an unclosed bracket", SHOP, "http://[::1", ("direct", "", ""), {}),
    ("referrer not an address", SHOP, "not a url at all", ("direct", "", ""), {}),
    ("referrer javascript:", SHOP, "javascript:alert(1)", ("direct", "", ""), {}),
    (
        "landing with an unclosed bracket",
        "https://[tea-shop/longjing",
        "https://www.baidu.com/s?wd=tea",
        ("search", "baidu", "tea"),
        {"landing_page": "/"},
    ),
    (
        "a bad port does not hide the engine",
        SHOP,
        "https://www.baidu.com:abc/s?wd=tea",
        ("search", "baidu", "tea"),
        {},
    ),
    (
        "bytes that are no text",
        f"{SHOP}?utm_source=baidu&utm_medium=cpc&utm_term=%FF%FE%FA",
        "",
        ("paid", "baidu", "\ufffd\ufffd\ufffd"),
        {},
    ),
]


@pytest.mark.parametrize(
    ("url", "referrer", "expected", "fields", "options"),
    [(c[1], c[2], c[3], c[4], c[5] if len(c) > 5 else {}) for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_first_touch(url, referrer, expected, fields, options):
    touch = first_touch(url, referrer, **options)
    assert (touch.channel, touch.source, touch.keyword) == expected
    assert {name: getattr(touch, name) for name in fields} == fields


def test_a_tagged_ad_visit_is_read_whole():
    assert first_touch(
        "https://tea-shop.example/longjing?utm_source=baidu&utm_medium=cpc"
        "&utm_campaign=%E6%98%A5%E8%8C%B6&utm_term=%E9%BE%99%E4%BA%95&bd_vid=42",
        "https://www.baidu.com/baidu.php?url=abc",
    ) == Touch(
        channel="paid",
        source="baidu",
        keyword="龙井",
        campaign="春茶",
        medium="cpc",
        click_id="bd_vid:42",
        landing_page="/longjing",
        referrer_domain="baidu.com",
    )


def test_very_long_values_fit_their_columns():
    long_word = "龙" * 5000
    touch = first_touch(
        f"https://tea-shop.example/{'p' * 2000}?utm_source={'s' * 500}&utm_medium=cpc"
        f"&utm_campaign={'c' * 5000}&utm_term={long_word}&gclid={'g' * 1000}",
        f"https://{'sub.' * 100}example.com/",
    )
    assert touch.keyword == "龙" * 200
    assert (len(touch.source), len(touch.campaign), len(touch.click_id)) == (60, 200, 200)
    assert len(touch.landing_page) == 300 and touch.landing_page.startswith("/ppp")
    assert len(touch.referrer_domain) == 253
