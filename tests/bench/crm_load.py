"""CRM at scale: customer search by phone and by name prefix, the side panel of a customer with
thousands of timeline entries, and a CSV import, on PostgreSQL with two large tenants.

    python -m tests.bench.crm_load                  # the full size (~15 minutes, ~700 MB of disk)
    python -m tests.bench.crm_load --quick          # 10,000 customers per shop (~2 minutes)
    python -m tests.bench.crm_load --write-docs     # and rewrite its block in docs/BENCHMARKS.md

A fresh database is migrated as the app does it (``flask huike init``: the migrations run as the
tables' owner, the app connects as a plain role, row-level security on). Two shops are signed
up through the real signup form of a real server (``python wsgi.py``); their customers,
contacts, tags, orders and timeline are loaded with COPY as the owner, then VACUUM ANALYZE.
Every measured operation then runs through the app's own code (``app.crm.service``,
``app.crm.panel``, ``app.crm.imports``) in a session of its own, as the app's role, with the
shop bound by ``tenants.db.bind_tenant`` — the ORM's tenant filter and the database's row
security both apply, as in a request — and the console's pages through the server as each
shop's owner. Only 127.0.0.1 is contacted; the database is dropped at the end unless
``--keep``.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import gc
import importlib
import io
import json
import os
import random
import shlex
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench import harness

DOCS = harness.ROOT / "docs" / "BENCHMARKS.md"
MARK = "<!-- crm_load:postgresql:{edge} -->"
SECTION = "## CRM at scale"
TARGET_MS = 50  # search and side panel, p95
IMPORT_TARGET_S = 30
DAY = 86400.0


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- realistic-looking data ------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
)
# How common each surname is, in % (王 7.3, 李 7.2, 张 6.8 … as China's census counts them;
# the rest tail off), so a one-character search finds as many as it would in a real shop.
SURNAME_SHARES = tuple(
    float(share) for share in _words("7.3 7.2 6.8 5.4 4.5 3.1 2.2 2.3 2.1 2.0 1.6 1.5 1.3 1.3 1.2")
) + tuple(max(0.08, 1.1 * 0.96**k) for k in range(len(SURNAMES) - 15))
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
GIVEN = (
    "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉萍红娥玲鹏飞宇浩晨欣怡子涵梓轩雨佳琪思博文"
    "嘉俊婷雪慧颖建国志荣海波辉宁斌晶亮林峰琳丹凤新春梅兰燕云倩瑶睿妍诗悦泽昊然彤"
)
FIRST = _words(
    "Maria Ana José Juan Carlos Luis Sofia Lucas Gabriel Camila Mateo Valentina Pedro "
    "Laura John Michael Sarah Emily David James Emma Olivia Daniel Anna Thomas Julia Paul "
    "Marie Kevin Jessica Chris Linda Mark Nicole Sophie Lena Felix Hannah Léa Hugo Chloé "
    "Amelia Oliver Isabella Diego Lucía Rafael Beatriz Tiago Inês Marco Giulia Luca "
    "Chiara"
)
LAST = _words(
    "Garcia Martinez Rodriguez Lopez Hernandez Gonzalez Perez Sanchez Ramirez Torres "
    "Silva Santos Oliveira Souza Costa Pereira Smith Johnson Williams Brown Jones Miller "
    "Davis Wilson Taylor Anderson Müller Schmidt Schneider Fischer Weber Dubois Martin "
    "Bernard Moreau Laurent Rossi Russo Ferrari Esposito Bianchi Wang Li Zhang Chen Liu "
    "Nguyen Tran Kim Park Tanaka"
)
TAGS = (
    "VIP",
    "回头客",
    "批发",
    "大客户",
    "newsletter",
    "wholesale",
    "投诉",
    "潜在客户",
    "售后",
    "海外",
    "生日月",
    "优惠券",
    "B2B",
    "学生",
    "企业采购",
    "高价值",
    "待跟进",
    "已流失",
)
COMPANIES = (
    "深圳市云帆科技有限公司",
    "杭州青禾贸易有限公司",
    "广州星河服饰",
    "上海禾木文化传媒",
    "Acme Trading Ltd",
    "Blue River GmbH",
    "Casa Verde S.A.",
    "北京启明教育",
    "成都味道餐饮管理",
    "Nordic Supplies AB",
)
SOURCES = (
    ("chat", 40),
    ("identify", 20),
    ("order", 15),
    ("import", 10),
    ("left_message", 5),
    ("manual", 5),
    ("api", 5),
)
EMAIL_DOMAINS = (
    "qq.com",
    "163.com",
    "126.com",
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "foxmail.com",
)
CN_MOBILE = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 180 181 182 "
    "183 185 186 187 188 189 198 199"
)
# (template, digits to add): validated with phonenumbers before use
FOREIGN = (
    ("+1212", 7),
    ("+1415", 7),
    ("+1646", 7),
    ("+1917", 7),
    ("+4474", 8),
    ("+4477", 8),
    ("+49151", 8),
    ("+49170", 8),
    ("+336", 8),
    ("+337", 8),
    ("+55119", 8),
    ("+346", 8),
    ("+8526", 7),
    ("+8529", 7),
    ("+659", 7),
    ("+8869", 8),
)
CHAT_TEXTS = (
    "你好，请问这款还有货吗？",
    "什么时候发货？",
    "可以开发票吗",
    "Do you ship to Germany?",
    "请问有优惠吗",
    "我的快递单号是多少",
    "Is this available in blue?",
    "想退货，怎么操作",
    "尺码偏大还是偏小？",
    "Thanks, received it!",
)
NOTES = (
    "老客户，喜欢红色系",
    "要求周末送货",
    "Prefers WeChat over phone",
    "上次投诉物流慢，已补偿优惠券",
    "批发价已报给对方",
    "Asked for a bulk quote",
)
PAGES = ("/", "/products/123", "/cart", "/checkout", "/sale", "/products/88", "/about", "/faq")
# The non-order kinds spread over the customers (weights); orders add "order"/"order_status".
KINDS = (("visit", 40), ("chat", 35), ("left_message", 10), ("note", 10), ("order_status", 5))
STATUSES = (("completed", 70), ("shipped", 10), ("paid", 8), ("cancelled", 7), ("refunded", 5))
UNCOUNTED = ("cancelled", "refunded")
TABLES = {
    "customer": "crm_customers",
    "phone": "crm_customer_phones",
    "email": "crm_customer_emails",
    "tag": "crm_customer_tags",
    "order": "crm_orders",
    "timeline": "crm_timeline",
}


def _weighted(pairs) -> tuple[list, list]:
    values = [v for v, _ in pairs]
    cum, total = [], 0
    for _, w in pairs:
        total += w
        cum.append(total)
    return values, cum


def copy_text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return str(value)


def ts(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


@dataclass
class Shop:
    """A benchmark shop and what its inputs are drawn from."""

    label: str
    tenant_id: int
    owner_id: int  # the owner's membership
    cookie: str = ""  # the owner's signed-in session, for the console's pages
    customer_ids: list[int] = field(default_factory=list)
    phones: list[tuple[str, int]] = field(default_factory=list)  # (e164, customer id)
    names: list[tuple[str, bool]] = field(default_factory=list)  # (name, is Chinese)
    heavy_id: int = 0
    heavy_entries: int = 0


class Generator:
    """Customers, contacts, tags, orders and timeline for the shops, written with COPY."""

    def __init__(self, rng: random.Random, now: float) -> None:
        import phonenumbers

        self.rng, self.now = rng, now
        self.phonenumbers = phonenumbers
        self.source_values, self.source_cum = _weighted(SOURCES)
        self.kind_values, self.kind_cum = _weighted(KINDS)
        self.status_values, self.status_cum = _weighted(STATUSES)
        self.surname_values, self.surname_cum = _weighted(
            tuple(zip(SURNAMES, SURNAME_SHARES, strict=True))
        )
        self.taken_phones: dict[int, set[str]] = {}
        self.ids = dict.fromkeys(TABLES, 0)  # the last id given, per table

    def pick(self, values, cum):
        return values[bisect.bisect_right(cum, self.rng.random() * cum[-1])]

    def name(self) -> tuple[str, bool]:
        r = self.rng.random()
        if r < 0.04:
            return "", False  # a visitor who never said their name
        if r < 0.70:
            surname = (
                self.rng.choice(COMPOUND_SURNAMES)
                if self.rng.random() < 0.01
                else self.pick(self.surname_values, self.surname_cum)
            )
            given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2, 2))))
            return surname + given, True
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}", False

    def phone(self, tenant_id: int, chinese: bool) -> str:
        taken = self.taken_phones.setdefault(tenant_id, set())
        while True:
            if chinese or self.rng.random() < 0.4:
                number = "+86" + self.rng.choice(CN_MOBILE) + f"{self.rng.randrange(10**8):08d}"
            else:
                start, digits = self.rng.choice(FOREIGN)
                number = start + "".join(str(self.rng.randrange(10)) for _ in range(digits))
                parsed = self.phonenumbers.parse(number)
                if not self.phonenumbers.is_valid_number(parsed):
                    continue
            if number not in taken:
                taken.add(number)
                return number

    def customers(self, shops: list[Shop], per_shop: int, out: dict[str, io.StringIO]):
        """One row per customer and its phones, e-mails, tags and orders; the shops' rows
        interleave in the table, as two shops' customers arriving over time do."""
        rng = self.rng
        orders_by_customer: dict[int, list] = {}
        for index in range(per_shop):
            for shop in shops:
                self.ids["customer"] += 1
                cid = self.ids["customer"]
                shop.customer_ids.append(cid)
                name, chinese = self.name()
                if name:
                    shop.names.append((name, chinese))
                updated = self.now - rng.random() * 730 * DAY
                created = updated - rng.random() * 365 * DAY
                seen = updated - rng.random() * 30 * DAY if rng.random() < 0.7 else None
                external = (
                    f"{100000 + index * 7 + rng.randrange(7)}" if rng.random() < 0.6 else None
                )
                company = rng.choice(COMPANIES) if rng.random() < 0.1 else ""
                owner = shop.owner_id if rng.random() < 0.2 else None
                source = self.pick(self.source_values, self.source_cum)
                fields = '{"level": "gold"}' if rng.random() < 0.05 else "{}"
                for _ in range(1 if rng.random() < 0.75 else 2):
                    e164 = self.phone(shop.tenant_id, chinese)
                    self.ids["phone"] += 1
                    out["phones"].write(f"{self.ids['phone']}\t{cid}\t{e164}\t{shop.tenant_id}\n")
                    shop.phones.append((e164, cid))
                emails = self.pick((0, 1, 2), (30, 80, 100))
                for n in range(emails):
                    self.ids["email"] += 1
                    if name and not chinese:
                        local = name.lower().replace(" ", ".").replace("é", "e").replace("ü", "u")
                    else:
                        local = f"{rng.randrange(10**5, 10**10)}"
                    email = f"{local}.{cid}{'x' * n}@{rng.choice(EMAIL_DOMAINS)}"
                    out["emails"].write(
                        f"{self.ids['email']}\t{cid}\t{copy_text(email)}\t{shop.tenant_id}\n"
                    )
                for tag in rng.sample(TAGS, self.pick((0, 1, 2, 3), (40, 75, 92, 100))):
                    self.ids["tag"] += 1
                    out["tags"].write(f"{self.ids['tag']}\t{cid}\t{tag}\t{shop.tenant_id}\n")
                orders = []
                if rng.random() < 0.3:
                    orders = [
                        self.order(shop, cid)
                        for _ in range(self.pick((1, 2, 3, 5), (50, 75, 90, 100)))
                    ]
                orders_by_customer[cid] = orders
                counted = [o for o in orders if o[2] not in UNCOUNTED]
                out["customers"].write(
                    "\t".join(
                        copy_text(v)
                        for v in (
                            cid,
                            external,
                            name,
                            name.lower(),
                            company,
                            owner,
                            source,
                            fields,
                            len(counted),
                            sum(o[3] for o in counted),
                            ts(max(o[4] for o in counted)) if counted else None,
                            ts(seen) if seen else None,
                            None,
                            ts(created),
                            ts(updated),
                            shop.tenant_id,
                        )
                    )
                    + "\n"
                )
        return orders_by_customer

    def order(self, shop: Shop, cid: int) -> tuple:
        self.ids["order"] += 1
        oid = self.ids["order"]
        status = self.pick(self.status_values, self.status_cum)
        total = self.rng.randrange(990, 200000)
        placed = self.now - self.rng.random() * 730 * DAY
        return (oid, cid, status, total, placed, shop.tenant_id)


def load(owner_url: str, shops: list[Shop], args: argparse.Namespace, say) -> dict:
    """Everything with COPY as the tables' owner, then VACUUM ANALYZE. Timings per step."""
    import psycopg2

    rng = random.Random(args.seed)
    now = time.time()
    gen = Generator(rng, now)
    timings: dict[str, float] = {}
    started = time.monotonic()
    conn = psycopg2.connect(owner_url.replace("postgresql+psycopg2://", "postgresql://"))
    conn.autocommit = False
    cur = conn.cursor()
    first_id = {}  # after the rows a new shop starts with
    for key, table in TABLES.items():
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        first_id[key] = gen.ids[key] = cur.fetchone()[0]
    conn.rollback()
    out = {k: io.StringIO() for k in ("customers", "phones", "emails", "tags")}
    orders_by_customer = gen.customers(shops, args.customers, out)
    timings["generate_customers_s"] = round(time.monotonic() - started, 1)
    # The owner loads every shop's rows: say so to the row-security policy (FORCE applies to
    # the owner too unless it is a superuser).
    cur.execute("SELECT set_config('app.cross_tenant', 'on', true)")
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    superuser = cur.fetchone()[0]
    if superuser:
        # The generated rows are consistent by construction: skip the per-row foreign-key
        # triggers (millions of them) while loading. Not possible for a plain owner role.
        cur.execute("SET LOCAL session_replication_role = replica")

    def copy(table: str, columns: str, buffer: io.StringIO) -> None:
        t0 = time.monotonic()
        buffer.seek(0)
        cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer, size=1 << 20)
        timings[f"copy_{table}_s"] = round(time.monotonic() - t0, 1)

    say("loading customers, phones, e-mails, tags")
    copy(
        "crm_customers",
        "id, external_id, name, name_key, company, owner_id, source, fields, order_count, "
        "revenue, last_order_at, last_seen_at, merged_into_id, created_at, updated_at, tenant_id",
        out.pop("customers"),
    )
    copy("crm_customer_phones", "id, customer_id, e164, tenant_id", out.pop("phones"))
    copy("crm_customer_emails", "id, customer_id, email, tenant_id", out.pop("emails"))
    copy("crm_customer_tags", "id, customer_id, tag, tenant_id", out.pop("tags"))

    say("generating orders and the timeline")
    t0 = time.monotonic()
    orders = io.StringIO()
    events: list[tuple] = []  # (occurred_at, customer id, kind, order) sorted by time later
    for cid, placed in orders_by_customer.items():
        for oid, _, status, total, at, tenant_id in placed:
            items = json.dumps(
                [{"name": "商品", "quantity": 1, "price": total}], ensure_ascii=False
            )
            orders.write(
                "\t".join(
                    copy_text(v)
                    for v in (
                        oid,
                        f"SO{oid:09d}",
                        cid,
                        status,
                        total,
                        "CNY",
                        items,
                        ts(at),
                        ts(at),
                        ts(at + DAY),
                        tenant_id,
                    )
                )
                + "\n"
            )
            events.append((at, cid, "order", oid, total, status))
            if status != "completed" or rng.random() < 0.3:
                events.append(
                    (at + rng.random() * 5 * DAY, cid, "order_status", oid, total, status)
                )
    del orders_by_customer
    for shop in shops:
        mine = set(shop.customer_ids)
        own = sum(1 for e in events if e[1] in mine)
        rest = max(0, args.entries - own)
        heavy = shop.heavy_id = shop.customer_ids[rng.randrange(len(shop.customer_ids))]
        heavy_rest = max(0, args.heavy - sum(1 for e in events if e[1] == heavy))
        shop.heavy_entries = args.heavy
        others = [c for c in shop.customer_ids if c != heavy]
        # Most customers came a few times, a few came very often (Pareto weights).
        cum, total = [], 0.0
        for _ in others:
            total += min(rng.paretovariate(1.3), 200.0)
            cum.append(total)
        chosen = rng.choices(others, cum_weights=cum, k=max(0, rest - heavy_rest))
        chosen += [heavy] * heavy_rest
        for cid in chosen:
            kind = gen.pick(gen.kind_values, gen.kind_cum)
            if kind == "order_status":
                kind = "visit"  # status changes come with orders above
            events.append((now - rng.random() * 730 * DAY, cid, kind, None, None, None))
    events.sort(key=lambda e: e[0])  # ids grow with time, as entries are appended
    timings["generate_timeline_s"] = round(time.monotonic() - t0, 1)
    copy(
        "crm_orders",
        "id, external_id, customer_id, status, total, currency, items, placed_at, created_at, "
        "updated_at, tenant_id",
        orders,
    )
    del orders

    say(f"loading {len(events):,} timeline entries")
    t0 = time.monotonic()
    tenant_of = {cid: shop.tenant_id for shop in shops for cid in shop.customer_ids}
    owner_of = {shop.tenant_id: shop.owner_id for shop in shops}
    refs = {"chat": 0, "left_message": 0}
    chunk = io.StringIO()
    for index, (at, cid, kind, oid, total, status) in enumerate(events, first_id["timeline"] + 1):
        tenant_id = tenant_of[cid]
        author = None
        if kind == "order":
            ref, summary = oid, f"SO{oid:09d}"
            data = f'{{"total": {total}, "currency": "CNY", "status": "{status}", "items": 1}}'
        elif kind == "order_status":
            ref, summary = None, f"SO{oid:09d}"
            data = f'{{"from": "placed", "to": "{status}", "order_id": {oid}}}'
        elif kind in refs:
            refs[kind] += 1
            ref = refs[kind]
            summary = CHAT_TEXTS[index % len(CHAT_TEXTS)]
            data = f'{{"page_url": "https://shop.example.com{PAGES[index % len(PAGES)]}"}}'
        elif kind == "note":
            ref, summary, data, author = None, NOTES[index % len(NOTES)], "{}", owner_of[tenant_id]
        else:
            ref, summary = None, PAGES[index % len(PAGES)]
            data = '{"referrer": "https://www.baidu.com/"}'
        chunk.write(
            f"{index}\t{cid}\t{kind}\t{copy_text(ref)}\t{copy_text(author)}\t"
            f"{copy_text(summary)}\t{data}\t{ts(at)}\t{tenant_id}\n"
        )
        if index % 200_000 == 0 or index == first_id["timeline"] + len(events):
            chunk.seek(0)
            cur.copy_expert(
                "COPY crm_timeline (id, customer_id, kind, ref_id, author_id, summary, data, "
                "occurred_at, tenant_id) FROM STDIN",
                chunk,
                size=1 << 20,
            )
            chunk = io.StringIO()
    timings["copy_crm_timeline_s"] = round(time.monotonic() - t0, 1)
    counts = {"timeline": len(events)}
    del events
    for table in TABLES.values():
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )
    conn.commit()
    say("VACUUM ANALYZE")
    t0 = time.monotonic()
    conn.autocommit = True
    for table in TABLES.values():
        cur.execute(f"VACUUM ANALYZE {table}")
    timings["vacuum_analyze_s"] = round(time.monotonic() - t0, 1)
    cur.execute(
        "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
        "WHERE relname IN ('crm_customers', 'crm_timeline') ORDER BY relname"
    )
    sizes = {name: round(size / 2**20) for name, size in cur.fetchall()}
    cur.execute("SELECT pg_database_size(current_database())")
    sizes["database"] = round(cur.fetchone()[0] / 2**20)
    conn.close()
    timings["total_s"] = round(time.monotonic() - started, 1)
    counts.update({key: gen.ids[key] - first_id[key] for key in TABLES if key != "timeline"})
    return {
        "timings": timings,
        "counts": counts,
        "sizes_mib": sizes,
        "fk_triggers_skipped": bool(superuser),
        "generator": gen,  # for the import's new people: phones not taken yet
    }


# --- measuring through the app's code --------------------------------------------------------


class Statements:
    """The SQL the app sends (for EXPLAIN): captured while ``on``."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.on, self.seen = False, []

        @event.listens_for(engine, "before_cursor_execute")
        def _seen(_conn, _cursor, statement, parameters, _context, _many):
            if self.on and statement.lstrip().upper().startswith("SELECT") and "crm_" in statement:
                self.seen.append((statement, parameters))


def timed(shop: Shop, work) -> tuple[float, float, object]:
    """One operation as one request does it: a session of its own, the shop bound, the
    transaction ended. Wall-clock and this process's CPU time in ms, and the result."""
    from tenants.db import bind_tenant, db

    started, cpu = time.perf_counter(), time.process_time()
    bind_tenant(shop.tenant_id)
    result = work()
    db.rollback()
    elapsed = (time.perf_counter() - started) * 1000
    used = (time.process_time() - cpu) * 1000
    db.remove()
    return elapsed, used, result


class _NoServer:
    process = None


def series(runs: int, one, server=None, database_name: str | None = None) -> tuple[dict, list]:
    """``runs`` runs of ``one()`` -> (wall ms, own CPU ms, result): percentiles of the wall
    clock, CPU per run, and the CPU of every process on the machine meanwhile."""
    window = harness.CpuWindow(server or _NoServer(), None, database_name)
    walls, cpus, results = [], [], []
    for _ in range(runs):
        wall, cpu, result = one()
        walls.append(wall)
        cpus.append(cpu)
        results.append(result)
    figures = percentiles(walls)
    figures["cpu_ms"] = round(statistics.fmean(cpus), 2) if cpus else None
    figures["machine_cpu"] = window.stop()
    figures["seconds"] = round(time.monotonic() - window.started, 2)
    return figures, results


def explain(shop: Shop, work, statements: Statements) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of every CRM SELECT ``work`` sends, as the app's role with the
    shop bound (so the row-security predicate is in the plan)."""
    from tenants.db import bind_tenant, db

    statements.seen.clear()
    bind_tenant(shop.tenant_id)
    statements.on = True
    try:
        work()
    finally:
        statements.on = False
    plans = []
    connection = db.connection()
    for statement, parameters in list(statements.seen):
        rows = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
        ).all()
        plans.append(statement.strip() + "\n" + "\n".join(r[0] for r in rows))
    db.rollback()
    db.remove()
    return plans


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def at(p: float) -> float:
        if not ordered:
            return float("nan")
        k = (len(ordered) - 1) * p / 100
        low, high = int(k), min(int(k) + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (k - low)

    return {
        "runs": len(ordered),
        "p50_ms": round(at(50), 2),
        "p95_ms": round(at(95), 2),
        "p99_ms": round(at(99), 2),
        "max_ms": round(ordered[-1], 2) if ordered else None,
        "mean_ms": round(statistics.fmean(ordered), 2) if ordered else None,
    }


def national(e164: str, rng: random.Random) -> str | None:
    """How a shop's agent types a Chinese mobile: 13812345678, 138 1234 5678 or 138-1234-5678."""
    if not e164.startswith("+86"):
        return None
    digits = e164[3:]
    return rng.choice(
        (
            digits,
            f"{digits[:3]} {digits[3:7]} {digits[7:]}",
            f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
        )
    )


class Inputs:
    """Randomised search texts, drawn from each shop's own data."""

    def __init__(self, shops: list[Shop], seed: int) -> None:
        self.rng = random.Random(seed)
        self.shops = shops
        self.latin = {s.tenant_id: [n for n, zh in s.names if not zh] for s in shops}
        self.chinese = {s.tenant_id: [n for n, zh in s.names if zh] for s in shops}
        self.cn_phones = {
            s.tenant_id: [p for p in s.phones if p[0].startswith("+86")] for s in shops
        }

    def shop(self) -> Shop:
        return self.rng.choice(self.shops)

    def phone_e164(self, shop: Shop) -> tuple[str, int | None]:
        e164, cid = self.rng.choice(shop.phones)
        return e164, cid

    def phone_national(self, shop: Shop) -> tuple[str, int | None]:
        e164, cid = self.rng.choice(self.cn_phones[shop.tenant_id])
        return national(e164, self.rng), cid

    def phone_prefix(self, shop: Shop) -> tuple[str, int | None]:
        e164, _ = self.rng.choice(shop.phones)
        if e164.startswith("+86") and self.rng.random() < 0.7:
            return e164[3 : 3 + self.rng.randint(5, 8)], None  # 13812, 1381234…
        return e164[: self.rng.randint(8, 11)], None  # +8613812…, +4477009…

    def name_zh(self, shop: Shop) -> tuple[str, int | None]:
        name = self.rng.choice(self.chinese[shop.tenant_id])
        return name[: self.rng.randint(1, min(3, len(name)))], None

    def name_latin(self, shop: Shop) -> tuple[str, int | None]:
        name = self.rng.choice(self.latin[shop.tenant_id])
        prefix = name[: self.rng.randint(1, 3)]
        return (prefix.lower() if self.rng.random() < 0.5 else prefix), None


SEARCHES = (
    ("phone_e164", "phone, full E.164 (+8613812345678, +447700900123)"),
    ("phone_national", "phone, national form (13812345678, 138 1234 5678)"),
    ("phone_prefix", "phone, partial (first 5–8 digits, or +cc and a few)"),
    ("name_zh", "name prefix, Chinese (1–3 characters: 王, 王小, 欧阳明)"),
    ("name_latin", "name prefix, Latin (1–3 letters: m, Mar, jo)"),
)
PAGE = 20


def search_page(q: str):
    from app.crm import service
    from tenants.db import db

    return lambda: [c.id for c in db.scalars(service.search({"q": q}).limit(PAGE))]


def panel(customer_id: int):
    """What the chat console's side panel reads for a customer (app/crm/panel.py): the row,
    phones, e-mails, tags, the newest orders, chats, left messages and notes, visits; and the
    first page of the timeline, as the full record shows it."""
    from app.crm import service

    try:
        facts = importlib.import_module("app.crm.panel").customer_facts
    except (ImportError, AttributeError):
        facts = None

    def work():
        customer = service.live(service.customer_or_404(customer_id))
        contacts = (
            [p.e164 for p in customer.phones],
            [e.email for e in customer.emails],
            [t.tag for t in customer.tags],
        )
        if facts is not None:
            facts(customer)
        page = service.timeline(customer.id, limit=service.TIMELINE_PAGE)
        return len(page), contacts

    return work


def deeper_page(customer_id: int, cursor: tuple):
    from app.crm import service

    return lambda: len(service.timeline(customer_id, before=cursor, limit=service.TIMELINE_PAGE))


def _said(say, name: str, f: dict) -> None:
    say(
        f"{name}: p50 {f['p50_ms']} p95 {f['p95_ms']} p99 {f['p99_ms']} max {f['max_ms']} ms, "
        f"CPU {f.get('cpu_ms')} ms/run; machine {f['machine_cpu']}"
    )


def heavy_cursors(shops: list[Shop]) -> dict[int, list[tuple]]:
    """Every (occurred_at, id) of each shop's busiest customer: a keyset cursor at any depth."""
    from sqlalchemy import select

    from app.crm.models import TimelineEntry
    from tenants.db import bind_tenant, db

    cursors = {}
    for shop in shops:
        bind_tenant(shop.tenant_id)
        cursors[shop.tenant_id] = [
            tuple(row)
            for row in db.execute(
                select(TimelineEntry.occurred_at, TimelineEntry.id)
                .where(TimelineEntry.customer_id == shop.heavy_id)
                .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
            )
        ]
        db.rollback()
        db.remove()
    return cursors


def measure(args, shops: list[Shop], statements: Statements, database_name: str, say) -> dict:
    """Through ``app.crm.service`` in this process: searches, the side panel, deeper pages."""
    inputs = Inputs(shops, args.seed + 1)
    results: dict = {"searches": {}, "plans": {}}
    for kind, _label in SEARCHES:
        draw = getattr(inputs, kind)
        for _ in range(args.warmup):
            shop = inputs.shop()
            timed(shop, search_page(draw(shop)[0]))
        shop = inputs.shop()
        sample, _ = draw(shop)
        results["plans"][kind] = {
            "q": sample,
            "plans": explain(shop, search_page(sample), statements),
        }
        asked = []

        def one(draw=draw, asked=asked):
            shop = inputs.shop()
            q, expected = draw(shop)
            asked.append((q, expected))
            return timed(shop, search_page(q))

        figures, pages = series(args.runs, one, database_name=database_name)
        hits = [len(ids) for ids in pages]
        figures.update(
            hits_median=statistics.median(hits),
            full_pages=sum(1 for h in hits if h == PAGE),
            expected_missing=sum(
                1 for (_q, want), ids in zip(asked, pages, strict=True) if want and want not in ids
            ),
            examples=list(dict.fromkeys(q for q, _ in asked))[:6],
        )
        results["searches"][kind] = figures
        _said(say, f"search {kind}", figures)

    cursors = heavy_cursors(shops)
    results["heavy_entries"] = {s.label: len(cursors[s.tenant_id]) for s in shops}
    rng = random.Random(args.seed + 2)
    for _ in range(args.warmup):
        shop = rng.choice(shops)
        timed(shop, panel(shop.heavy_id))
        timed(shop, deeper_page(shop.heavy_id, rng.choice(cursors[shop.tenant_id])))
    shop = shops[0]
    middle = cursors[shop.tenant_id][len(cursors[shop.tenant_id]) // 2]
    results["plans"]["panel"] = {"plans": explain(shop, panel(shop.heavy_id), statements)}
    results["plans"]["deeper_page"] = {
        "cursor": str(middle),
        "plans": explain(shop, deeper_page(shop.heavy_id, middle), statements),
    }

    def one_panel():
        shop = rng.choice(shops)
        return timed(shop, panel(shop.heavy_id))

    figures, pages = series(args.runs, one_panel, database_name=database_name)
    figures["entries_on_page"] = statistics.median(count for count, _ in pages)
    results["panel"] = figures
    _said(say, "side panel", figures)
    depths = []

    def one_deeper():
        shop = rng.choice(shops)
        depth = rng.randrange(len(cursors[shop.tenant_id]))
        depths.append(depth)
        return timed(shop, deeper_page(shop.heavy_id, cursors[shop.tenant_id][depth]))

    figures, _ = series(args.runs, one_deeper, database_name=database_name)
    figures.update(depth_median=statistics.median(depths), depth_max=max(depths))
    results["deeper_page"] = figures
    _said(say, "deeper page", figures)
    return results


# --- through HTTP ----------------------------------------------------------------------------

HTTP_SEARCHES = (
    ("phone", ("phone_e164", "phone_national", "phone_prefix")),
    ("name", ("name_zh", "name_latin")),
)


def measure_http(args, shops: list[Shop], server, database_name: str, say) -> dict:
    """The console's own pages, from a real server process (``python wsgi.py``, eventlet),
    as each shop's signed-in owner: the customer list searching, the record, older pages."""
    import requests

    sessions = {}
    for shop in shops:
        session = requests.Session()
        session.headers.update({"Cookie": shop.cookie, "Accept-Language": "en"})
        sessions[shop.tenant_id] = session
    inputs = Inputs(shops, args.seed + 4)
    cursors = heavy_cursors(shops)
    rng = random.Random(args.seed + 5)
    results: dict = {}

    def get(shop: Shop, path: str, **params):
        started = time.perf_counter()
        response = sessions[shop.tenant_id].get(server.url + path, params=params, timeout=60)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {response.status_code}")
        return elapsed, 0.0, len(response.content)

    def by_search(kinds):
        def one():
            shop = inputs.shop()
            q, _ = getattr(inputs, rng.choice(kinds))(shop)
            return get(shop, "/console/customers/", q=q)

        return one

    def record():
        shop = rng.choice(shops)
        return get(shop, f"/console/customers/{shop.heavy_id}")

    def older():
        shop = rng.choice(shops)
        at, ident = rng.choice(cursors[shop.tenant_id])
        before = f"{at.isoformat()},{ident}"
        return get(shop, f"/console/customers/{shop.heavy_id}/timeline", before=before)

    plan = [(f"list_{name}", by_search(kinds)) for name, kinds in HTTP_SEARCHES]
    plan += [("record", record), ("older", older)]
    for name, one in plan:
        for _ in range(args.warmup):
            one()
        figures, sizes = series(args.runs, one, server, database_name)
        figures["server_cpu_ms"] = round(
            1000 * figures["machine_cpu"]["server_seconds"] / max(1, args.runs), 2
        )
        figures["bytes_median"] = statistics.median(sizes)
        results[name] = figures
        _said(say, f"HTTP {name}", figures)
    return results


# --- the CSV import --------------------------------------------------------------------------


def import_file(shop: Shop, gen: Generator, rows: int, rng: random.Random) -> tuple[bytes, dict]:
    """A shop's customer list as its admin exports it from elsewhere: Chinese headers, 80 %
    people the shop does not know yet, 19 % it knows (matched by phone, a new tag), 1 % bad."""
    out = io.StringIO()
    out.write("姓名,手机,邮箱,用户ID,公司,标签\n")
    plan = {"new": 0, "known": 0, "bad": 0}
    for n in range(rows):
        r = rng.random()
        tags = ";".join(rng.sample(TAGS, rng.randint(0, 2)))
        if r < 0.01:
            plan["bad"] += 1
            phone, email = ("12345x", "") if rng.random() < 0.5 else ("", "not-an-email")
            out.write(f"坏行{n},{phone},{email},,,{tags}\n")
        elif r < 0.20:
            plan["known"] += 1
            e164, _ = rng.choice(shop.phones)
            out.write(f",{e164},,,,导入{n % 7}\n")
        else:
            plan["new"] += 1
            name, chinese = gen.name()
            phone = gen.phone(shop.tenant_id, chinese)
            shown = national(phone, rng) if phone.startswith("+86") else phone
            email = f"import{n}.{rng.randrange(10**6)}@{rng.choice(EMAIL_DOMAINS)}"
            external = f"imp-{n}" if rng.random() < 0.5 else ""
            company = rng.choice(COMPANIES) if rng.random() < 0.1 else ""
            out.write(f"{name},{shown},{email},{external},{company},{tags}\n")
    return out.getvalue().encode("utf-8"), plan


def measure_import(shop: Shop, gen: Generator, args, database_name: str, say) -> dict:
    """The console's import (app/crm/transfer.py) as its two requests run it: the upload
    (file checked and stored, commit), then the columns guessed and every row through the
    import engine (commit). Then the same file again: nothing new."""
    try:
        imports = importlib.import_module("app.crm.imports")
    except ImportError:
        return {"measured": False, "reason": "app/crm/imports.py does not exist yet"}
    from sqlalchemy import func, select

    from app.crm import import_mapping, service
    from app.crm.models import Customer, Import
    from tenants.db import bind_tenant, db, scoped_get

    data, plan = import_file(shop, gen, args.import_rows, random.Random(args.seed + 3))

    def count_customers() -> int:
        bind_tenant(shop.tenant_id)
        count = db.scalar(select(func.count(Customer.id)))
        db.rollback()
        db.remove()
        return count

    before = count_customers()
    runs = []
    for attempt in ("first", "again"):
        window = harness.CpuWindow(_NoServer(), None, database_name)
        started = time.perf_counter()
        bind_tenant(shop.tenant_id)
        import_id = imports.create_import("customers", "customers.csv", data, shop.owner_id).id
        db.commit()
        db.remove()
        uploaded = time.perf_counter()
        bind_tenant(shop.tenant_id)
        imp = scoped_get(Import, import_id)
        fields = service.custom_fields()
        header, _rows = imports.read_table(imp.content)
        guessed = import_mapping.guess_mapping(imp.kind, header, fields)
        imp.mapping = import_mapping.check_mapping(imp.kind, guessed, header, fields)
        imports.find_conflicts(imp)  # as the mapping page looks for conflicts first
        imports.run_import(imp)
        db.commit()
        finished = time.perf_counter()
        outcome = imports.summary(imp)
        db.remove()
        runs.append(
            {
                "run": attempt,
                "seconds": round(finished - started, 2),
                "upload_seconds": round(uploaded - started, 2),
                "machine_cpu": window.stop(),
                **outcome,
            }
        )
        say(f"import ({attempt}): {finished - started:.1f} s, {outcome}; {runs[-1]['machine_cpu']}")
    after = count_customers()
    return {
        "measured": True,
        "rows": args.import_rows,
        "bytes": len(data),
        "plan": plan,
        "runs": runs,
        "customers_added": after - before,
    }


# --- the report --------------------------------------------------------------------------------


DISTURBED = 25  # % of a core used by other work on the machine past which figures are marked


def _mark(f: dict) -> str:
    return " ⚠" if f["machine_cpu"]["other"] > DISTURBED else ""


def _latency(f: dict) -> str:
    return f"{f['p50_ms']} | **{f['p95_ms']}** | {f['p99_ms']} | {f['max_ms']}{_mark(f)}"


def service_table(m: dict, args) -> str:
    rows = [
        "| operation (through `app.crm.service`) | runs | p50 ms | p95 ms | p99 ms | max ms "
        f"| app CPU ms/run | PostgreSQL CPU ms/run | result | p95 ≤ {TARGET_MS} ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|:---:|",
    ]

    def row(label: str, f: dict, result: str) -> None:
        pg = round(10 * f["machine_cpu"]["postgres"] * f["seconds"] / f["runs"], 2)
        rows.append(
            f"| {label} | {f['runs']} | {_latency(f)} | {f['cpu_ms']} | {pg} | {result} | "
            f"{harness.met(f['p95_ms'], TARGET_MS)} |"
        )

    for kind, label in SEARCHES:
        f = m["searches"][kind]
        result = f"{f['hits_median']:g} found (median), {f['full_pages']} full pages"
        if f["expected_missing"]:
            result += f", **{f['expected_missing']} misses**"
        row(f"search, first page of {PAGE}: {label}", f, result)
    f = m["panel"]
    row(
        f"side panel of the customer with {args.heavy:,} entries: row, phones, e-mails, tags, "
        "newest orders, chats, left messages, notes, visits; timeline's first page",
        f,
        f"{f['entries_on_page']:g} entries",
    )
    f = m["deeper_page"]
    row(
        "its timeline: an older page by the keyset cursor, at a random depth",
        f,
        f"depth: median {f['depth_median']:g}, up to {f['depth_max']:,}",
    )
    return "\n".join(rows)


HTTP_LABELS = {
    "list_phone": "`GET /console/customers/?q=` a phone (full, national or partial)",
    "list_name": "`GET /console/customers/?q=` a name prefix (Chinese or Latin)",
    "record": "`GET /console/customers/<id>`: the record of the customer with the long timeline",
    "older": "`GET /console/customers/<id>/timeline?before=`: an older page, random depth",
}


def http_table(h: dict) -> str:
    if "error" in h:
        return f"Through HTTP: **failed** — {h['error']}"
    rows = [
        "| page (real server, eventlet, signed-in owner) | runs | p50 ms | p95 ms | p99 ms "
        "| max ms | server CPU ms/request | size |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in HTTP_LABELS.items():
        if name in h:
            f = h[name]
            rows.append(
                f"| {label} | {f['runs']} | {_latency(f)} | {f['server_cpu_ms']} | "
                f"{f['bytes_median'] / 1024:.0f} KiB |"
            )
    return "\n".join(rows)


def import_text(imp: dict) -> str:
    if not imp.get("measured"):
        return f"**CSV import**: not measured — {imp.get('reason', 'skipped')}."
    first, again = imp["runs"][0], imp["runs"][1]
    cpu = first["machine_cpu"]
    return (
        f"**CSV import of {imp['rows']:,} customer rows** ({imp['bytes'] // 1024} KiB; "
        f"{imp['plan']['new']:,} people the shop does not know, {imp['plan']['known']:,} it "
        f"knows by phone, with a new tag, {imp['plan']['bad']} bad rows), through "
        "`app.crm.imports` as the console's two requests run it (upload: checked and stored; "
        f"then columns guessed, every row, commit): **{first['seconds']} s** "
        f"{harness.met(first['seconds'], IMPORT_TARGET_S)} (target ≤ {IMPORT_TARGET_S} s; upload "
        f"{first['upload_seconds']} s) — {first['created']:,} created, {first['updated']:,} "
        f"updated, {first['unchanged']:,} unchanged, {first['failed']} failed; CPU in % of one "
        f"core: the app {cpu['generator']}, PostgreSQL {cpu['postgres']}, anything else "
        f"{cpu['other']}{' ⚠' if cpu['other'] > DISTURBED else ''}. The same file again: "
        f"{again['seconds']} s — {again['created']} created, {again['updated']} updated, "
        f"{again['unchanged']:,} unchanged, {again['failed']} failed "
        f"({imp['customers_added']:,} customers added in all)."
    )


def report(result: dict, args, command: str) -> str:
    info, loaded, m = result["machine"], result["load"], result["measure"]
    counts, t = loaded["counts"], loaded["timings"]
    parts = [
        MARK.format(edge="begin"),
        f"Measured on {result['finished']} by `{command}`: {info['nproc']} CPUs "
        f"({info['cpu']}), {info['memory_gib']} GiB RAM, Linux {info['kernel']}, Python "
        f"{info['python']}, {result['postgres']} (default settings: shared_buffers 128 MB); "
        "the benchmark process (the app), PostgreSQL and the HTTP server on the same machine. "
        f"Two shops of {args.customers:,} customers each ({counts['phone']:,} phones, "
        f"{counts['email']:,} e-mails, {counts['tag']:,} tags, {counts['order']:,} orders in "
        f"all) and {counts['timeline']:,} timeline entries ({args.entries:,} per shop; one "
        f"customer of each has {args.heavy:,}); {loaded['sizes_mib']['database']:,} MiB on "
        f"disk. Loaded in {t['total_s']} s (COPY as the owner"
        f"{', foreign-key triggers off' if loaded['fk_triggers_skipped'] else ''}; timeline "
        f"{t['copy_crm_timeline_s']} s; VACUUM ANALYZE {t['vacuum_analyze_s']} s). Each "
        f"figure: {args.runs} runs after {args.warmup} warm-up runs, randomised inputs from "
        "either shop; wall clock. ⚠ marks figures taken while other work on the machine used "
        f"more than {DISTURBED} % of a core (machine {result['machine_busy_before_pct']} % "
        "busy just before).",
        "",
        service_table(m, args),
        "",
    ]
    if "http" in result:
        parts += [http_table(result["http"]), ""]
    parts += [import_text(result.get("import", {})), MARK.format(edge="end")]
    return "\n".join(parts)


def write_docs(block: str) -> None:
    """Replace the block (the hand-written text of the section around it stays)."""
    harness.write_block(DOCS, MARK.format(edge="begin"), MARK.format(edge="end"), SECTION, block)


# --- the run -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.crm_load",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--customers", type=int, default=100_000, help="customers per shop")
    parser.add_argument("--entries", type=int, default=1_000_000, help="timeline entries per shop")
    parser.add_argument(
        "--heavy", type=int, default=5000, help="timeline entries of each shop's busiest customer"
    )
    parser.add_argument("--runs", type=int, default=200, help="measured runs per operation")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured runs before them")
    parser.add_argument("--import-rows", type=int, default=10_000, help="rows of the CSV import")
    parser.add_argument("--seed", type=int, default=20261122, help="random seed (data, inputs)")
    parser.add_argument(
        "--pg-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="superuser URL to create (and drop) the scratch database with",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small run: 10,000 customers and 100,000 entries per shop, 50 runs, a 1,000-row "
        "import (explicit flags still win)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print EXPLAIN (ANALYZE, BUFFERS) of every query of one sample of each operation",
    )
    parser.add_argument(
        "--no-http", action="store_true", help="skip the console's pages through a real server"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL printed)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        help="before measuring, wait up to this many seconds for the machine to be under 15 %% "
        "busy (its load is recorded either way)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results (and plans) here")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="measure nothing: print (and with --write-docs write) the figures of an earlier "
        "run from its --json file",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="rewrite the figures block of '## CRM at scale' in docs/BENCHMARKS.md",
    )
    args = parser.parse_args(argv)
    if args.quick:
        harness.apply_preset(
            args,
            argv,
            (
                ("--customers", 10_000),
                ("--entries", 100_000),
                ("--runs", 50),
                ("--warmup", 5),
                ("--import-rows", 1000),
            ),
        )
    return args


def _say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


class _Database(harness.Database):
    """harness.Database, migrated only once inside the ``try`` that drops it again."""

    def init(self) -> None:
        pass


def run(args: argparse.Namespace) -> dict:
    result: dict = {"machine": harness.machine()}
    workdir = Path(tempfile.mkdtemp(prefix="huike-crm-load-"))
    _say(f"a fresh database (flask huike init: migrations as the owner); logs in {workdir}")
    database = _Database.create("postgresql", args.pg_admin_url)
    server = None
    try:
        harness.Database.init(database)
        os.environ.update(database.env())
        from sqlalchemy import select, text

        from app import create_app
        from tenants.db import cross_tenant, db
        from tenants.models import Membership, Tenant

        app = create_app({"LOG_LEVEL": "WARNING"})
        env = harness.huike_env(database, max_connections=200)
        server = harness.Server("huike", "eventlet", env, workdir / "server.log").start()
        with app.app_context():
            engine = db.get_bind()
            version = db.scalar(text("SHOW server_version"))
            result["postgres"] = "PostgreSQL " + version.split()[0]
            db.remove()
            shops = []
            for label in ("A", "B"):  # through the real signup form, as a shop does it
                cookie, site_key = harness.sign_up(server.url, f"crm{label}{int(time.time())}")
                with cross_tenant():
                    tenant = db.scalar(select(Tenant).where(Tenant.site_key == site_key))
                    owner = db.scalar(select(Membership).where(Membership.tenant_id == tenant.id))
                shops.append(Shop(label, tenant.id, owner.id, cookie))
                db.remove()
            _say(
                f"loading {args.customers:,} customers and {args.entries:,} timeline entries "
                "into each of two shops"
            )
            loaded = load(database.owner_url, shops, args, _say)
            result["load"] = {k: v for k, v in loaded.items() if k != "generator"}
            _say(f"loaded: {result['load']}")
            # The inputs (a quarter of a million phones and names) would make each full garbage
            # collection a pause of this process measured as the app's: exempt them.
            gc.collect()
            gc.freeze()
            busy = harness.wait_quiet(args.wait_quiet)
            result["machine_busy_before_pct"] = busy
            _say(f"machine {busy} % busy; measuring")
            statements = Statements(engine)
            result["measure"] = measure(args, shops, statements, database.name, _say)
            if not args.no_http:
                try:
                    result["http"] = measure_http(args, shops, server, database.name, _say)
                except Exception as error:  # noqa: BLE001  (reported; the import still runs)
                    result["http"] = {"error": f"{type(error).__name__}: {error}"}
                    _say(f"HTTP failed: {result['http']['error']}\n{server.log_tail(10)}")
            result["import"] = measure_import(
                shops[0], loaded["generator"], args, database.name, _say
            )
        result["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            _say(f"kept: {database.owner_url}")
        else:
            database.drop()
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = "python -m tests.bench.crm_load" + (" " + shlex.join(given) if given else "")
    if args.report:  # the figures of an earlier run, from its --json file
        result = json.loads(args.report.read_text())
        command = result["command"]
        for key, value in result["args"].items():
            if key in ("customers", "entries", "heavy", "runs", "warmup", "import_rows"):
                setattr(args, key, int(value))
        args.json = None
    else:
        try:
            result = run(args)
        except Exception:
            traceback.print_exc()
            return 1
    if args.explain:
        for kind, found in result["measure"]["plans"].items():
            print(f"\n===== {kind} {found.get('q', found.get('cursor', ''))!r}")
            for plan in found["plans"]:
                print(plan, end="\n\n")
    if args.json:  # first: the raw figures survive a failing report
        result.update(command=command, args={k: str(v) for k, v in vars(args).items()})
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    section = report(result, args, command)
    print()
    print(section)
    if args.write_docs:
        write_docs(section)
        print(f"\nwritten to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
