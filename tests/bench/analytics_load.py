"""Analytics at scale: the 90-day funnel by keyword and the hour × weekday heatmap of the
biggest shop, the rollups built from scratch, and how far the rollups lag page views while the
widget's page-view endpoint is under load — on PostgreSQL with Redis, as docs/deploy.md runs it.

    python -m tests.bench.analytics_load               # the full size (~12 minutes, ~3.5 GB disk)
    python -m tests.bench.analytics_load --quick       # a hundredth of it (~3 minutes)
    python -m tests.bench.analytics_load --write-docs  # and rewrite its docs/BENCHMARKS.md block

A fresh database is migrated as the app does it (``flask huike init``: migrations as the
tables' owner, the app as a plain role, row-level security on). Web processes (``python
wsgi.py``, eventlet, each on its own port) with ``REDIS_URL``, a job worker and the clock run as
docs/deploy.md runs them. ``--shops`` shops sign up through the real form (the first holds
``--big-share`` of everything); their visitors, page views, visits with realistic first
touches, conversations with their messages and reporting events, customers and orders (two
currencies) over ``--days`` days are generated inside PostgreSQL (generate_series, foreign-key
triggers off), then VACUUM ANALYZE. The rollups are built with the product's own
``rollups.recompute(days)`` per shop, timed.

Measured for the big shop, in a session of its own as the app's role with the shop bound (the
ORM's tenant filter and row security both apply): ``reports.funnel`` over 90 days by keyword
and ``reports.volume`` over 90 days (the heatmap's data); through a live server the console's
funnel page ``/console/analytics?by=keyword`` (the REST routes and the volume page are not on
main yet). Then the lag: page views posted to ``POST /w/api/hello`` at ``--rate`` per second
(new visitors landing from search engines and ads with keywords, returning visitors moving on),
spread over the web processes, and every second a probe — a new visitor whose search keyword
is unique — whose lag is the time from its answer to the moment the keyword's visit is counted
in ``analytics_traffic_daily``. Only 127.0.0.1 is contacted; the database is dropped at the end
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import random
import shlex
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path

import aiohttp

from tests.bench import harness
from tests.bench.calls_load import Workers, flush_redis
from tests.bench.crm_load import percentiles

DOCS = harness.ROOT / "docs" / "BENCHMARKS.md"
MARK = "<!-- analytics_load:postgresql:{edge} -->"
SECTION = "## Analytics"
FUNNEL_GOAL_MS = 150
HEATMAP_GOAL_MS = 100
LAG_GOAL_S = 60
REPORT_DAYS = 90
PASSWORD = "a-good-password"
ID_BASE = 100_000_000  # generated rows' ids start here: clear of the ones signup wrote
KEYWORD_WORDS = (
    "连衣裙 手机壳 蓝牙耳机 运动鞋 羽绒服 保温杯 口红 面膜 茶叶 儿童书包 "
    "running shoes, phone case, wireless earbuds, yoga mat, coffee grinder"
)


def _say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


def _words() -> list[str]:
    chinese, english = KEYWORD_WORDS.split(" running", 1)
    return chinese.split() + [w.strip() for w in ("running" + english).split(",")]


# --- the data, generated inside PostgreSQL -------------------------------------------------

# Each statement runs once, with the parameters of ``load``. Temporary tables carry the plan
# (which shop, visitor, visit) from one statement to the next.
LOAD_SQL = (
    (
        "visitors",
        """
        CREATE TEMP TABLE b_visitor AS
        SELECT g AS n, (%(tenants)s::int[])[1 + width_bucket(random(), %(cum)s::float8[])]
               AS tenant_id
        FROM generate_series(1, %(visitors)s) g;
        INSERT INTO chat_visitors (id, tenant_id, key, name, email, phone, lang, user_agent, ip,
            visit_count, page_count, first_seen_at, last_seen_at, visit_started_at, current_url,
            current_title, referrer, source, keyword, utm)
        SELECT %(base)s + n, tenant_id, 'b' || n, '', '', '', 'zh-CN', 'Mozilla/5.0 (bench)',
            '203.0.113.' || (n %% 250), 1, 1, now() - interval '%(days)s days',
            now() - interval '%(days)s days', now() - interval '%(days)s days', '', '', '', '', '',
            '{}'
        FROM b_visitor;
        CREATE UNIQUE INDEX ON b_visitor (n);
        """,
    ),
    (
        "visits",
        # Visit n is visitor ``1 + (n * 7919) % visitors``'s: one or two visits each.
        # Local days in Asia/Shanghai, 08:00–24:00; a Zipf-ish keyword index (density 1/k).
        """
        CREATE TEMP TABLE b_visit AS
        SELECT g AS n, v.tenant_id, %(base)s + v.n AS visitor_id, (v.tenant_id = %(big)s) AS big,
            least(now() - interval '1 minute',
                  ((date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                    - interval '1 day' * floor(random() * %(days)s)) AT TIME ZONE 'Asia/Shanghai')
                  + interval '1 second' * (28800 + 57600 * random())) AS started_at,
            random() AS r, random() AS r2,
            floor(exp(random() * ln(CASE WHEN v.tenant_id = %(big)s THEN %(keywords)s
                                         ELSE %(small_keywords)s END)))::int AS k,
            floor(exp(random() * ln(800)))::int AS page,
            1 + floor(random() * (2 * %(pages)s - 1))::int AS pages
        FROM generate_series(1, %(visits)s) g
        JOIN b_visitor v ON v.n = 1 + (g::bigint * 7919) %% %(visitors)s;
        ALTER TABLE b_visit ADD COLUMN channel text, ADD COLUMN source text,
            ADD COLUMN keyword text, ADD COLUMN campaign text, ADD COLUMN medium text,
            ADD COLUMN click_id text, ADD COLUMN landing text, ADD COLUMN domain text,
            ADD COLUMN customer_id int;
        UPDATE b_visit SET channel = CASE
            WHEN r < 0.35 THEN 'search' WHEN r < 0.55 THEN 'paid' WHEN r < 0.75 THEN 'direct'
            WHEN r < 0.87 THEN 'referral' WHEN r < 0.96 THEN 'social' ELSE 'email' END,
          landing = CASE WHEN r2 < 0.6 THEN '/products/' || page
            WHEN r2 < 0.75 THEN '/' WHEN r2 < 0.85 THEN '/sale'
            ELSE '/category/' || (page %% 20) END;
        UPDATE b_visit SET
          source = CASE channel
            WHEN 'search' THEN (ARRAY['baidu','baidu','baidu','baidu','sogou','360','shenma',
                                      'google','bing'])[1 + (k * 31 + page) %% 9]
            WHEN 'paid' THEN (ARRAY['baidu','baidu','baidu','360','sogou','google'])[1 + page %% 6]
            WHEN 'referral' THEN (ARRAY['smzdm.com','hao123.com','zol.com.cn','partner.example',
                                        'blog.example.cn'])[1 + page %% 5]
            WHEN 'social' THEN (ARRAY['wechat','wechat','weibo','douyin','xiaohongshu',
                                      'zhihu'])[1 + page %% 6]
            WHEN 'email' THEN (ARRAY['newsletter','edm'])[1 + page %% 2]
            ELSE '' END,
          keyword = CASE
            WHEN channel = 'search' AND random() < 0.6 THEN '(not provided)'
            WHEN channel IN ('search', 'paid')
              THEN (%(words)s::text[])[1 + k %% %(word_count)s] || ' ' || k
            ELSE '' END,
          campaign = CASE channel
            WHEN 'paid' THEN 'sem-' || (1 + floor(exp(r2 * ln(40))))::int
            WHEN 'email' THEN 'newsletter-' || to_char(started_at, 'IYYY-IW')
            WHEN 'social' THEN CASE WHEN r2 < 0.3 THEN 'kol-' || (page %% 12) ELSE '' END
            ELSE '' END,
          medium = CASE channel WHEN 'paid' THEN 'cpc' WHEN 'email' THEN 'email'
            WHEN 'social' THEN CASE WHEN r2 < 0.3 THEN 'social' ELSE '' END ELSE '' END,
          click_id = CASE WHEN channel = 'paid' THEN 'bd_vid:' || md5(n::text) ELSE '' END;
        UPDATE b_visit SET domain = CASE channel
            WHEN 'search' THEN CASE source WHEN 'baidu' THEN 'www.baidu.com'
              WHEN 'sogou' THEN 'www.sogou.com' WHEN '360' THEN 'www.so.com'
              WHEN 'shenma' THEN 'm.sm.cn' WHEN 'google' THEN 'www.google.com'
              ELSE 'www.bing.com' END
            WHEN 'paid' THEN 'www.baidu.com'
            WHEN 'referral' THEN source
            WHEN 'social' THEN CASE source WHEN 'wechat' THEN 'weixin.qq.com'
              ELSE source || '.com' END
            WHEN 'email' THEN 'mail.qq.com'
            ELSE '' END;
        CREATE UNIQUE INDEX ON b_visit (n);
        """,
    ),
    (
        "customers",
        # Every visit numbered 1 mod 10 brings an order: its visitor is a known customer.
        """
        CREATE TEMP TABLE b_customer AS
        SELECT DISTINCT visitor_id, tenant_id FROM b_visit WHERE n %% %(order_every)s = 1;
        INSERT INTO crm_customers (id, tenant_id, external_id, name, name_key, company, source,
            fields, order_count, revenue, created_at, updated_at)
        SELECT visitor_id, tenant_id, 'u' || visitor_id, '客户' || visitor_id,
            '客户' || visitor_id, '', 'identify', '{}', 0, 0, now(), now()
        FROM b_customer;
        UPDATE chat_visitors SET customer_id = id
        WHERE id IN (SELECT visitor_id FROM b_customer);
        UPDATE b_visit SET customer_id = visitor_id
        WHERE visitor_id IN (SELECT visitor_id FROM b_customer);
        """,
    ),
    (
        "analytics_visits",
        """
        INSERT INTO analytics_visits (id, tenant_id, visitor_id, customer_id, started_at,
            channel, source, keyword, campaign, medium, click_id, landing_page, referrer_domain)
        SELECT %(base)s + n, tenant_id, visitor_id, customer_id, started_at, channel, source,
            keyword, campaign, medium, click_id, landing, domain
        FROM b_visit;
        """,
    ),
    (
        "page_views",
        """
        INSERT INTO chat_page_views (tenant_id, visitor_id, url, title, referrer, utm, viewed_at)
        SELECT tenant_id, visitor_id,
            'https://shop' || tenant_id || '.example' || CASE WHEN p = 0 THEN landing
                ELSE '/products/' || ((page * 7 + p * 13) %% 800) END
                || CASE WHEN p = 0 AND channel = 'paid'
                        THEN '?utm_source=' || source || '&utm_medium=cpc&utm_campaign='
                             || campaign || '&bd_vid=' || substr(click_id, 8)
                        ELSE '' END,
            'Page ' || p,
            CASE WHEN p = 0 AND domain <> '' THEN 'https://' || domain || '/' ELSE '' END,
            '{}', started_at + interval '1 second' * (p * 45)
        FROM b_visit, generate_series(0, pages - 1) p;
        """,
    ),
    (
        "conversations",
        """
        CREATE TEMP TABLE b_conv AS
        SELECT %(base)s + n AS id, n, tenant_id, visitor_id, %(base)s + n AS visit_id,
            started_at + interval '1 second' * (30 + 270 * random()) AS created_at, landing
        FROM b_visit WHERE n %% %(conversation_every)s = 0;
        INSERT INTO chat_conversations (id, tenant_id, visitor_id, status, last_seq,
            last_sender, last_text, visitor_read_seq, agent_read_seq, page_url, rating_comment,
            created_at, first_response_at, last_message_at, closed_at)
        SELECT id, tenant_id, visitor_id, 'closed', %(messages)s, 'agent', '好的，马上为您处理',
            %(messages)s, %(messages)s, landing, '', created_at,
            created_at + interval '40 seconds',
            created_at + interval '30 seconds' * %(messages)s,
            created_at + interval '30 seconds' * %(messages)s + interval '10 minutes'
        FROM b_conv;
        INSERT INTO chat_messages (tenant_id, conversation_id, seq, sender, visitor_id,
            client_id, kind, body, created_at)
        SELECT c.tenant_id, c.id, s,
            CASE WHEN s %% 2 = 1 THEN 'visitor' ELSE 'agent' END,
            CASE WHEN s %% 2 = 1 THEN c.visitor_id END,
            'b' || c.id || '-' || s, 'text',
            CASE WHEN s %% 2 = 1 THEN '请问这款还有货吗？' ELSE '有的，今天下单明天发货' END,
            c.created_at + interval '30 seconds' * (s - 1)
        FROM b_conv c, generate_series(1, %(messages)s) s;
        """,
    ),
    (
        "events",
        # What the listeners write: a consultation per chat (and per left message and inbound
        # call of some visits), a "message" event per message.
        """
        INSERT INTO analytics_events (tenant_id, name, kind, at, visit_id, conversation_id)
        SELECT tenant_id, 'consultation', 'chat', created_at, visit_id, id FROM b_conv;
        INSERT INTO analytics_events (tenant_id, name, kind, at, visit_id)
        SELECT tenant_id, 'consultation',
            CASE WHEN n %% 100 = 9 THEN 'call' ELSE 'message' END,
            started_at + interval '3 minutes', %(base)s + n
        FROM b_visit WHERE n %% 50 = 7 OR n %% 100 = 9;
        INSERT INTO analytics_events (tenant_id, name, kind, at, conversation_id)
        SELECT tenant_id, 'message', CASE WHEN s %% 2 = 1 THEN 'visitor' ELSE 'agent' END,
            created_at + interval '30 seconds' * (s - 1), id
        FROM b_conv, generate_series(1, %(messages)s) s;
        """,
    ),
    (
        "orders",
        # 5 % placed over 30 days after their visit: with no visit in the window, unattributed.
        """
        CREATE TEMP TABLE b_order AS
        SELECT %(base)s + n AS id, tenant_id, customer_id,
            least(now() - interval '1 second',
                  started_at + CASE WHEN r < 0.05 THEN interval '31 days' ELSE interval '0' END
                  + interval '1 second' * (600 + 172800 * r2)) AS placed_at,
            CASE WHEN tenant_id = %(big)s AND r2 < 0.15 THEN 'USD'
                 WHEN tenant_id %% 10 = 3 THEN 'USD' ELSE 'CNY' END AS currency,
            (990 + 100 * floor(exp(random() * ln(500))))::int AS total,
            CASE WHEN r < 0.9 THEN 'completed' WHEN r < 0.95 THEN 'cancelled'
                 ELSE 'refunded' END AS status
        FROM b_visit WHERE n %% %(order_every)s = 1;
        INSERT INTO crm_orders (id, tenant_id, external_id, customer_id, status, total,
            currency, items, placed_at, created_at, updated_at)
        SELECT id, tenant_id, 'B' || id, customer_id, status, total, currency, '[]', placed_at,
            placed_at, placed_at
        FROM b_order;
        INSERT INTO analytics_orders (tenant_id, order_id, customer_id, placed_at, total,
            currency, counted)
        SELECT tenant_id, id, customer_id, placed_at, total, currency,
            status NOT IN ('cancelled', 'refunded')
        FROM b_order;
        """,
    ),
)
SEQUENCES = (
    "chat_visitors",
    "crm_customers",
    "analytics_visits",
    "chat_page_views",
    "chat_conversations",
    "chat_messages",
    "analytics_events",
    "crm_orders",
    "analytics_orders",
)


def shares(shops: int, big: float) -> list[float]:
    """The first shop holds ``big``; the others split the rest, the larger ones first."""
    weights = [1 / math.sqrt(i) for i in range(1, shops)]
    rest = sum(weights)
    return [big] + [(1 - big) * w / rest for w in weights]


def load(owner_url: str, tenant_ids: list[int], args) -> dict:
    """Generate every row as the tables' owner; timings per step and the rows made."""
    import psycopg2

    cum, total = [], 0.0
    for share in shares(len(tenant_ids), args.big_share)[:-1]:
        total += share
        cum.append(total)
    words = _words()
    params = {
        "tenants": tenant_ids,
        "cum": cum,
        "big": tenant_ids[0],
        "base": ID_BASE,
        "days": args.days,
        "visitors": max(1, int(args.visits * 0.6)),
        "visits": args.visits,
        "pages": max(1, args.page_views // args.visits),
        "keywords": args.keywords,
        "small_keywords": max(2, args.keywords // 10),
        "words": words,
        "word_count": len(words),
        "conversation_every": max(1, args.visits // args.conversations),
        "order_every": max(2, args.visits // args.orders),
        "messages": args.messages,
    }
    timings = {}
    conn = psycopg2.connect(owner_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET session_replication_role = replica")  # no foreign-key triggers
            cur.execute("SET work_mem = '256MB'")
            for name, sql in LOAD_SQL:
                started = time.monotonic()
                cur.execute(sql, params)
                conn.commit()
                timings[name] = round(time.monotonic() - started, 1)
                _say(f"  {name}: {timings[name]} s")
            for table in SEQUENCES:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            conn.commit()
            counts = {}
            for table in SEQUENCES:
                cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (our own names)
                counts[table] = cur.fetchone()[0]
            cur.execute(
                "SELECT count(*), count(DISTINCT keyword) FROM analytics_visits "
                "WHERE tenant_id = %s",
                (tenant_ids[0],),
            )
            counts["big_shop_visits"], counts["big_shop_keywords"] = cur.fetchone()
            cur.execute(
                "SELECT count(*) FROM chat_page_views WHERE tenant_id = %s", (tenant_ids[0],)
            )
            counts["big_shop_page_views"] = cur.fetchone()[0]
        conn.commit()
        conn.autocommit = True
        started = time.monotonic()
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
        timings["vacuum_analyze"] = round(time.monotonic() - started, 1)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            size = cur.fetchone()[0]
    finally:
        conn.close()
    timings["total"] = round(sum(timings.values()), 1)
    return {"timings_s": timings, "counts": counts, "database_mib": size // 2**20}


# --- the rollups and the reports, through the app's own code ------------------------------------


def local_days(app, tenant_id: int, days: int) -> list[dt.date]:
    from tenants.db import bind_tenant, db, utcnow
    from tenants.models import Tenant
    from tenants.timezones import local

    with app.app_context():
        bind_tenant(tenant_id)
        zone = db.get(Tenant, tenant_id).timezone
        today = local(utcnow(), zone).date()
        db.remove()
    return [today - dt.timedelta(days=n) for n in range(days + 1)]


def build_rollups(app, tenant_ids: list[int], days: int) -> dict:
    """``rollups.recompute`` of every day with data, one shop per transaction, as the nightly
    job does it: seconds for the big shop and for all."""
    from app.analytics import rollups
    from tenants.db import bind_tenant, db

    per_shop = []
    wanted_of = {tenant_id: local_days(app, tenant_id, days) for tenant_id in tenant_ids}
    with app.app_context():
        for tenant_id in tenant_ids:
            wanted = wanted_of[tenant_id]
            started = time.monotonic()
            bind_tenant(tenant_id)
            rollups.recompute(wanted)
            db.commit()
            db.remove()
            per_shop.append(time.monotonic() - started)
            if len(per_shop) == 1:
                _say(f"  the big shop: {per_shop[0]:.1f} s for {len(wanted)} days")
    return {
        "big_shop_s": round(per_shop[0], 1),
        "big_shop_ms_per_day": round(1000 * per_shop[0] / (days + 1), 1),
        "other_shops_s": round(sum(per_shop[1:]), 1),
        "all_s": round(sum(per_shop), 1),
        "days": days + 1,
    }


def analyze_rollups(owner_url: str) -> float:
    """VACUUM ANALYZE of the freshly filled rollup tables, as autovacuum does it within a
    minute or so in production: without statistics the planner sorts instead of hashing,
    without the visibility map an index-only scan reads the heap anyway, and an autovacuum
    pass starting in the middle of the measurement would be measured too."""
    import psycopg2

    conn = psycopg2.connect(owner_url)
    conn.autocommit = True
    started = time.monotonic()
    with conn.cursor() as cur:
        cur.execute(
            "VACUUM ANALYZE analytics_traffic_daily, analytics_orders_daily, "
            "analytics_volume_hourly"
        )
    conn.close()
    return round(time.monotonic() - started, 1)


def timed_series(app, tenant_id: int, work, runs: int, warmup: int) -> tuple[dict, object]:
    """``runs`` runs of ``work()`` as one request does it: a session of its own, the shop
    bound, the transaction ended."""
    from tenants.db import bind_tenant, db

    walls, result = [], None
    with app.app_context():
        for n in range(warmup + runs):
            started = time.perf_counter()
            bind_tenant(tenant_id)
            result = work()
            db.rollback()
            elapsed = (time.perf_counter() - started) * 1000
            db.remove()
            if n >= warmup:
                walls.append(elapsed)
    return percentiles(walls), result


def measure_reports(app, tenant_id: int, args) -> dict:
    from app.analytics import reports

    today = local_days(app, tenant_id, 0)[0]
    when = reports.Period(today - dt.timedelta(days=REPORT_DAYS - 1), today)
    funnel, found = timed_series(
        app, tenant_id, lambda: reports.funnel(when, "keyword", "first"), args.runs, args.warmup
    )
    funnel["rows"] = len(found.rows)
    funnel["visits"] = found.total.visits
    funnel["orders"] = found.total.orders
    volume, found = timed_series(
        app, tenant_id, lambda: reports.volume(when), args.runs, args.warmup
    )
    volume["conversations"] = found.total["conversations"]
    volume["messages"] = found.total["messages"]
    return {
        "from": when.start.isoformat(),
        "to": when.end.isoformat(),
        "funnel": funnel,
        "volume": volume,
    }


def explain_funnel(app, tenant_id: int, when_from: str, when_to: str) -> list[str]:
    """EXPLAIN ANALYZE of the funnel's statements, as the app's role with the shop bound."""
    from sqlalchemy import event

    from app.analytics import reports
    from tenants.db import bind_tenant, db

    seen = []
    with app.app_context():
        engine = db.get_bind()

        def _seen(_conn, _cursor, statement, parameters, _context, _many):
            if statement.lstrip().upper().startswith("SELECT") and "analytics_" in statement:
                seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", _seen)
        bind_tenant(tenant_id)
        when = reports.Period(dt.date.fromisoformat(when_from), dt.date.fromisoformat(when_to))
        reports.funnel(when, "keyword", "first")
        event.remove(engine, "before_cursor_execute", _seen)
        plans = []
        connection = db.connection()
        for statement, parameters in seen:
            rows = connection.exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters).all()
            plans.append(statement.strip() + "\n" + "\n".join(r[0] for r in rows))
        db.rollback()
        db.remove()
    return plans


def measure_page(url: str, cookie: str, when: dict, args) -> dict:
    import requests

    session = requests.Session()
    session.headers.update({"Cookie": cookie, "Accept-Language": "en"})
    params = {"from": when["from"], "to": when["to"], "by": "keyword", "model": "first"}
    walls, size = [], 0
    for n in range(args.warmup + args.runs):
        started = time.perf_counter()
        response = session.get(f"{url}/console/analytics", params=params, timeout=60)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET /console/analytics: {response.status_code}")
        size = len(response.content)
        if n >= args.warmup:
            walls.append(elapsed)
    return {**percentiles(walls), "bytes": size}


# --- the lag under page-view load ------------------------------------------------------------


class Poller:
    """Reads ``analytics_traffic_daily`` every 250 ms (as the owner: every shop) for the
    probes' keywords; the moment each was first counted."""

    def __init__(self, owner_url: str, prefix: str) -> None:
        self.owner_url, self.prefix = owner_url, prefix
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg2

        conn = psycopg2.connect(self.owner_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            while not self._stop.wait(0.25):
                cur.execute(
                    "SELECT value FROM analytics_traffic_daily WHERE dimension = 'keyword' "
                    "AND value LIKE %s AND visits > 0",
                    (self.prefix + "%",),
                )
                now = time.time()
                for (value,) in cur.fetchall():
                    self.seen.setdefault(value, now)
        conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def page_view(rng: random.Random, site_key: str, token: str | None, n: int) -> dict:
    """A new visitor landing from a search engine or an ad (with a keyword) or directly, or a
    returning one moving to another page."""
    words = _words()
    if token:
        return {
            "k": site_key,
            "t": token,
            "url": f"https://shop.example/products/{n % 800}",
            "title": "Product",
            "lang": "zh-CN",
        }
    k = int(math.exp(rng.random() * math.log(3000)))
    keyword = f"{words[k % len(words)]} {k}"
    r = rng.random()
    url, referrer = f"https://shop.example/products/{k % 800}", ""
    if r < 0.45:
        referrer = f"https://www.baidu.com/s?wd={keyword}"
    elif r < 0.75:
        url += f"?utm_source=baidu&utm_medium=cpc&utm_campaign=sem-{k % 40}&utm_term={keyword}"
    elif r < 0.85:
        referrer = "https://weixin.qq.com/"
    return {"k": site_key, "url": url, "referrer": referrer, "title": "Product", "lang": "zh-CN"}


async def drive(args, urls: list[str], site_key: str, prefix: str) -> dict:
    """Page views at ``--rate`` per second for ``--duration`` s (open loop, at most
    ``--in-flight`` unanswered), and a probe each second; the probes' answer times."""
    rng = random.Random(args.seed)
    tokens: list[str] = []
    sent = ok = 0
    errors: dict[str, int] = {}
    answered: list[float] = []
    probes: dict[str, float] = {}
    gate = asyncio.Semaphore(args.in_flight)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def post(body: dict, probe: str | None = None) -> None:
            nonlocal ok
            url = urls[rng.randrange(len(urls))]
            try:
                async with http.post(f"{url}/w/api/hello", json=body) as response:
                    answer = await response.json(content_type=None)
                    if response.status == 200 and "t" in answer:
                        ok += 1
                        answered.append(time.monotonic())
                        if probe:
                            probes[probe] = time.time()
                        elif "t" not in body and len(tokens) < 20_000:
                            tokens.append(answer["t"])
                    else:
                        key = f"{response.status} {answer.get('error')}"
                        errors[key] = errors.get(key, 0) + 1
            except Exception as error:  # noqa: BLE001 (counted, the run goes on)
                errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
            finally:
                gate.release()

        started = time.monotonic()
        tasks, n, next_probe, skipped = set(), 0, started, 0
        while time.monotonic() - started < args.duration:
            due = started + n / args.rate
            wait = due - time.monotonic()
            await asyncio.sleep(max(0.0, wait))  # behind: still let the answers in
            if time.monotonic() >= next_probe:
                probe = f"{prefix}{n}x{uuid.uuid4().hex[:6]}"
                body = {
                    "k": site_key,
                    "url": "https://shop.example/",
                    "referrer": f"https://www.baidu.com/s?wd={probe}",
                    "lang": "zh-CN",
                }
                await gate.acquire()
                task = asyncio.create_task(post(body, probe))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                next_probe += 1.0
            if gate.locked():
                skipped += 1  # the servers are behind: this page view is not sent
                n += 1
                continue
            await gate.acquire()
            returning = tokens and rng.random() < args.returning
            body = page_view(rng, site_key, rng.choice(tokens) if returning else None, n)
            task = asyncio.create_task(post(body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
            n += 1
        if tasks:
            await asyncio.wait(tasks)
        seconds = time.monotonic() - started
    steady = [t for t in answered if t - started >= 5]  # after the first 5 s
    return {
        "offered": n,
        "sent": sent,
        "skipped_in_flight_full": skipped,
        "ok": ok,
        "errors": errors,
        "seconds": round(seconds, 1),
        "per_second": round(ok / seconds, 1),
        "steady_per_second": round(len(steady) / max(1e-9, seconds - 5), 1),
        "probes": probes,
    }


def measure_lag(args, urls: list[str], site_key: str, database, servers) -> dict:
    prefix = f"probe{uuid.uuid4().hex[:6]}-"
    poller = Poller(database.owner_url, prefix)
    cpu = harness.CpuWindow(servers[0], None, database.name)
    try:
        driven = asyncio.run(drive(args, urls, site_key, prefix))
        load_cpu = cpu.stop()
        deadline = time.monotonic() + args.lag_wait
        while time.monotonic() < deadline and set(driven["probes"]) - set(poller.seen):
            time.sleep(0.5)
    finally:
        poller.stop()
    probes = driven.pop("probes")
    lags = [poller.seen[p] - at for p, at in probes.items() if p in poller.seen]
    figures = percentiles([1000 * lag for lag in lags])
    return {
        **driven,
        "probes": len(probes),
        "probes_counted": len(lags),
        "lag_p50_s": round(figures["p50_ms"] / 1000, 1) if lags else None,
        "lag_p95_s": round(figures["p95_ms"] / 1000, 1) if lags else None,
        "lag_max_s": round(figures["max_ms"] / 1000, 1) if lags else None,
        "cpu": load_cpu,
    }


# --- the run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict:
    result: dict = {"machine": harness.machine(), "load_average_start": os.getloadavg()}
    workdir = Path(tempfile.mkdtemp(prefix="huike-analytics-load-"))
    _say(f"a fresh database (flask huike init: migrations as the owner); logs in {workdir}")
    database = harness.Database.create("postgresql", args.pg_admin_url, migrate=False)
    servers, workers = [], None
    try:
        database.init()
        os.environ.update(database.env())
        from sqlalchemy import select, text

        from app import create_app
        from tenants.db import cross_tenant, db
        from tenants.models import Tenant
        from tenants.service import signup

        app = create_app({"LOG_LEVEL": "WARNING"})
        env = harness.huike_env(database, max_connections=1000)
        flush_redis(args.redis_url)
        env["REDIS_URL"] = args.redis_url
        for n in range(args.servers):
            log = workdir / f"server{n}.log"
            servers.append(harness.Server("huike", "eventlet", env, log).start())
        workers = Workers(env, workdir)
        url = servers[0].url
        stamp = int(time.time())
        # The big shop through the real form (its owner's cookie for the console page); the
        # others with the form's own service call: the form allows a few signups an hour.
        _say(f"the big shop signs up through the form, {args.shops - 1} more through the service")
        cookie, site_key = harness.sign_up(url, f"an0x{stamp}")
        tenant_ids = []
        with app.app_context():
            result["postgres"] = "PostgreSQL " + db.scalar(text("SHOW server_version")).split()[0]
            with cross_tenant():
                tenant_ids.append(db.scalar(select(Tenant.id).where(Tenant.site_key == site_key)))
            for n in range(1, args.shops):
                owner = signup(f"Bench an{n}", f"an{n}x{stamp}@bench.example.com", PASSWORD)
                tenant_ids.append(owner.tenant_id)
                db.commit()
            db.remove()
        _say(
            f"generating {args.page_views:,} page views, {args.visits:,} visits, "
            f"{args.conversations:,} conversations, about {args.orders:,} orders"
        )
        result["load"] = load(database.owner_url, tenant_ids, args)
        _say(f"loaded: {result['load']}")
        _say("building the rollups: rollups.recompute(days) per shop")
        result["rollups"] = build_rollups(app, tenant_ids, args.days)
        result["rollups"]["analyze_s"] = analyze_rollups(database.owner_url)
        _say(f"rollups: {result['rollups']}")
        result["machine_busy_before_pct"] = harness.wait_quiet(args.wait_quiet)
        result["load_average_measure"] = os.getloadavg()
        _say(f"machine {result['machine_busy_before_pct']} % busy; measuring the reports")
        result["reports"] = measure_reports(app, tenant_ids[0], args)
        _say(f"reports: {result['reports']}")
        result["page"] = measure_page(url, cookie, result["reports"], args)
        _say(f"console page: {result['page']}")
        if args.explain:
            for plan in explain_funnel(
                app, tenant_ids[0], result["reports"]["from"], result["reports"]["to"]
            ):
                print(plan, "\n")
        _say(
            f"page views at {args.rate}/s for {args.duration} s over {len(servers)} web "
            "processes, a probe a second"
        )
        result["load_average_lag"] = os.getloadavg()
        result["lag"] = measure_lag(args, [s.url for s in servers], site_key, database, servers)
        result["load_average_after"] = os.getloadavg()
        _say(f"lag: {result['lag']}")
        result["servers"] = len(servers)
        result["alive"] = all(s.alive() for s in servers) and workers.alive()
        result["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    finally:
        if workers is not None:
            workers.stop()
        for server in servers:
            server.stop()
        flush_redis(args.redis_url)
        if args.keep:
            _say(f"kept: {database.owner_url}")
        else:
            database.drop()
    return result


# --- the report ---------------------------------------------------------------------------------


def _load(values) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def report(result: dict, args, command: str) -> str:
    info, loaded, c = result["machine"], result["load"], result["load"]["counts"]
    t, roll, rep, page, lag = (
        loaded["timings_s"],
        result["rollups"],
        result["reports"],
        result["page"],
        result["lag"],
    )
    funnel, volume = rep["funnel"], rep["volume"]
    answered = max(1, lag["ok"])
    web_ms = round(1000 * lag["cpu"]["server_seconds"] * result["servers"] / answered, 1)
    pg_ms = round(10 * lag["cpu"]["postgres"] * lag["seconds"] / answered, 1)
    max_rate = round(1000 * info["nproc"] / max(0.1, web_ms + pg_ms))

    def ms(f: dict) -> str:
        return f"p50 {f['p50_ms']} ms, **p95 {f['p95_ms']} ms**, max {f['max_ms']} ms"

    lines = [
        MARK.format(edge="begin"),
        f"Measured on {result['finished']} by `{command}`: {info['nproc']} CPUs ({info['cpu']}), "
        f"{info['memory_gib']} GiB RAM, Python {info['python']}, {result['postgres']} (default "
        f"settings), Redis; {result['servers']} web processes (eventlet), a job worker and the "
        "clock, PostgreSQL and the load generator on the same machine, shared with other work "
        f"(load average 1/5/15 min: {_load(result['load_average_start'])} at the start, "
        f"{_load(result['load_average_measure'])} before the reports were measured, "
        f"{_load(result['load_average_lag'])} before the page-view load, "
        f"{_load(result['load_average_after'])} after it).",
        "",
        f"Data ({args.shops} shops over {args.days} days, the first holding "
        f"{args.big_share:.0%}): {c['chat_page_views']:,} page views, {c['chat_visitors']:,} "
        f"visitors, {c['analytics_visits']:,} visits, {c['chat_conversations']:,} conversations "
        f"with {c['chat_messages']:,} messages, {c['analytics_events']:,} reporting events, "
        f"{c['crm_customers']:,} customers, {c['crm_orders']:,} orders (CNY and USD); the big "
        f"shop: {c['big_shop_page_views']:,} page views, {c['big_shop_visits']:,} visits, "
        f"{c['big_shop_keywords']:,} distinct keywords. {loaded['database_mib']:,} MiB, "
        f"generated in PostgreSQL in {t['total']} s (VACUUM ANALYZE {t['vacuum_analyze']} s).",
        "",
        "| what | figure | goal |",
        "|---|---|---|",
        f"| rollups built by `rollups.recompute(days)`, {roll['days']} local days per shop | "
        f"big shop **{roll['big_shop_s']} s** ({roll['big_shop_ms_per_day']} ms a day), the "
        f"other {args.shops - 1} shops {roll['other_shops_s']} s, all {roll['all_s']} s; "
        f"then VACUUM ANALYZE of the rollup tables {roll.get('analyze_s', '(not run)')} s | — |",
        f"| `reports.funnel` by keyword, {REPORT_DAYS} days (+ the previous {REPORT_DAYS} "
        f"for the comparison), {funnel['runs']} runs | {ms(funnel)} ({funnel['rows']:,} rows, "
        f"{funnel['visits']:,} visits, {funnel['orders']:,} orders) | p95 ≤ {FUNNEL_GOAL_MS} ms "
        f"{harness.met(funnel['p95_ms'], FUNNEL_GOAL_MS)} |",
        f"| console funnel page `GET /console/analytics?by=keyword` ({REPORT_DAYS} days) "
        f"through a live server, {page['runs']} runs | {ms(page)} ({page['bytes']:,} bytes) | "
        f"p95 ≤ {FUNNEL_GOAL_MS} ms {harness.met(page['p95_ms'], FUNNEL_GOAL_MS)} |",
        f"| `reports.volume` ({REPORT_DAYS} days: the hour × weekday heatmap and the days), "
        f"{volume['runs']} runs | {ms(volume)} ({volume['conversations']:,} conversations, "
        f"{volume['messages']:,} messages) | p95 ≤ {HEATMAP_GOAL_MS} ms "
        f"{harness.met(volume['p95_ms'], HEATMAP_GOAL_MS)} |",
        f"| page views taken by `POST /w/api/hello` (asked: {args.rate}/s for "
        f"{args.duration} s, {args.returning:.0%} returning visitors, at most {args.in_flight} "
        f"unanswered) | **{lag['per_second']}/s** ({lag['steady_per_second']}/s after the "
        f"first 5 s; {lag['ok']:,} answered of {lag['sent'] + lag['probes']:,} sent, probes "
        "included; "
        f"{lag['skipped_in_flight_full']:,} not sent with {args.in_flight} waiting"
        + (f"; errors {lag['errors']}" if lag["errors"] else "")
        + f") | 1,000/s {'✅' if lag['per_second'] >= 1000 else '❌'} |",
        f"| rollup lag: a probe visit's answer → its keyword counted in "
        f"`analytics_traffic_daily` ({lag['probes_counted']} of {lag['probes']} probes counted) "
        f"| p50 {lag['lag_p50_s']} s, **p95 {lag['lag_p95_s']} s, max {lag['lag_max_s']} s** "
        f"| ≤ {LAG_GOAL_S} s {harness.met(lag['lag_max_s'], LAG_GOAL_S)} |",
        f"| CPU per answered page view (the first web process's share of the answers taken "
        f"as 1/{result['servers']}) | web process **{web_ms} ms**, PostgreSQL **{pg_ms} ms**: "
        f"{max_rate}/s at most on {info['nproc']} CPUs of our own | — |",
        f"| CPU while loaded, % of one core | one web process {lag['cpu']['server']} %, "
        f"PostgreSQL {lag['cpu']['postgres']} %, the load generator {lag['cpu']['generator']} %, "
        f"everything else (the other web processes, the job worker, the clock, other work) "
        f"{lag['cpu']['other']} % | — |",
        MARK.format(edge="end"),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.analytics_load",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--shops", type=int, default=100, help="shops (the first is the big one, measured)")
    add("--big-share", type=float, default=0.3, help="the big shop's share of everything")
    add("--page-views", type=int, default=10_000_000, help="page views in all")
    add("--visits", type=int, default=1_000_000, help="visits in all")
    add("--conversations", type=int, default=200_000, help="conversations in all")
    add("--orders", type=int, default=100_000, help="orders in all")
    add("--messages", type=int, default=4, help="messages per conversation")
    add("--keywords", type=int, default=3000, help="distinct keywords of the big shop (Zipf)")
    add("--days", type=int, default=120, help="days the data spreads over")
    add("--runs", type=int, default=50, help="measured runs of each report")
    add("--warmup", type=int, default=3, help="runs before those")
    add("--servers", type=int, default=2, help="web processes taking the page views")
    add("--rate", type=float, default=1000, help="page views per second asked for")
    add("--duration", type=float, default=90, help="seconds of page-view load")
    add("--in-flight", type=int, default=20, help="unanswered page views at most")
    add("--returning", type=float, default=0.7, help="share of page views by known visitors")
    add("--lag-wait", type=float, default=120, help="after the load, how long a probe may take")
    add("--seed", type=int, default=20261207)
    add(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="superuser URL to create (and drop) the scratch database with",
    )
    add("--redis-url", default="redis://127.0.0.1:6379/7", help="REDIS_URL (emptied)")
    add("--wait-quiet", type=float, default=60, help="wait up to this long for a quiet machine")
    add("--explain", action="store_true", help="print EXPLAIN ANALYZE of the funnel's queries")
    add("--keep", action="store_true", help="keep the database (its URL printed)")
    add("--quick", action="store_true", help="a hundredth of the data, a short load")
    add("--json", type=Path, help="also write the raw results here")
    add("--report", type=Path, metavar="JSON", help="only print an earlier run's figures")
    add("--write-docs", action="store_true", help="rewrite the figures block of '## Analytics'")
    args = parser.parse_args(argv)
    if args.quick:
        harness.apply_preset(
            args,
            argv,
            (
                ("--shops", 10),
                ("--page-views", 100_000),
                ("--visits", 10_000),
                ("--conversations", 2_000),
                ("--orders", 1_000),
                ("--keywords", 300),
                ("--runs", 20),
                ("--duration", 20),
                ("--wait-quiet", 5),
                ("--lag-wait", 60),
            ),
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = "python -m tests.bench.analytics_load" + (" " + shlex.join(given) if given else "")
    if args.report:
        result = json.loads(args.report.read_text())
        command = result["command"]
        for key, value in result["args"].items():
            if key not in ("report", "json", "write_docs"):
                setattr(args, key, value)
        args.json = None
    else:
        try:
            result = run(args)
        except Exception:
            traceback.print_exc()
            return 1
    if args.json:
        kept = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        result.update(command=command, args=kept)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    section = report(result, args, command)
    print()
    print(section)
    if args.write_docs:
        harness.write_block(
            DOCS, MARK.format(edge="begin"), MARK.format(edge="end"), SECTION, section
        )
        print(f"\nwritten to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
