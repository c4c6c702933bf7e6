"""The unanswered questions page with a busy shop's month: 10,000 logged questions.

    python -m tests.bench.robot_unanswered                 # SQLite
    python -m tests.bench.robot_unanswered --db postgresql

A fresh database (``huike init``), a shop made by the signup service, 10,000 handovers written
to its log: 60 % are 40 common questions asked in varied words (a polite opening, a character
dropped or swapped, a final particle), 40 % a long tail made of the same shop words (they share
bigrams such as 运费 and 多少, the slow case for the grouping's inverted index). The page
(grouping, the page's 20 groups' candidates, the template) is fetched through the app's test
client; the grouping alone is timed too. Prints the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import timedelta

from tests.bench import harness

COMMON = [
    "运费多少钱", "什么时候发货", "可以开发票吗", "怎么退货", "退货运费谁出", "有没有优惠券",
    "尺码怎么选", "支持花呗吗", "能便宜点吗", "多久能到", "包邮吗", "发什么快递", "可以改地址吗",
    "怎么取消订单", "有现货吗", "是正品吗", "保质期多久", "怎么泡茶", "可以送礼盒吗", "能开专票吗",
    "退款多久到账", "可以货到付款吗", "海外能发吗", "会员有折扣吗", "赠品什么时候发",
    "怎么联系客服", "下单后能改规格吗", "七天无理由吗", "快递到哪了", "可以加急吗",
    "how much is shipping", "when will my order ship", "can I get an invoice",
    "how do I return an item", "is this in stock", "do you ship abroad",
    "can I change my address", "how long does delivery take", "do you accept paypal",
    "is there a discount code",
]  # fmt: skip
WORDS = list("运费多少钱什么时候发货可以开发票怎么退有没优惠券尺码选支持便宜点久能到包邮快递改地址")
OPENINGS = ["", "", "", "请问", "你好，", "亲，", "hi "]
ENDINGS = ["", "", "？", "?", "呢", "啊", "吗"]


def wording(rng: random.Random) -> str:
    if rng.random() < 0.6:
        text = rng.choice(COMMON)
        if rng.random() < 0.3 and len(text) > 3:  # a character dropped or swapped in
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(["", rng.choice(WORDS)]) + text[at + 1 :]
        return rng.choice(OPENINGS) + text + rng.choice(ENDINGS)
    return "".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--tries", type=int, default=5)
    args = parser.parse_args(argv)
    database = harness.Database.create(args.db, args.pg_admin_url)
    try:
        os.environ.update(database.env())
        os.environ.pop("REDIS_URL", None)
        run(args)
    finally:
        database.drop()


def run(args: argparse.Namespace) -> None:
    from app import create_app
    from app.accounts.identity import Principal
    from app.robot import unanswered
    from app.robot.models import RobotEntry, RobotQuestion
    from tenants import service
    from tenants.db import bind_tenant, db, utcnow

    app = create_app({"WTF_CSRF_ENABLED": False, "SERVER_NAME": "huike.bench"})
    rng = random.Random(13)
    with app.app_context():
        bind_tenant(None)
        owner = service.signup("Bench shop", "owner@bench.example.com", "a-good-password")
        bind_tenant(owner.tenant_id)
        db.add_all(
            RobotEntry(question=q, answer="…", alternatives=[]) for q in COMMON[::4]
        )  # some candidates to rank
        now = utcnow()
        db.add_all(
            RobotQuestion(
                channel="chat",
                question=wording(rng),
                decision="handover",
                reason="out_of_scope",
                created_at=now - timedelta(minutes=rng.randrange(29 * 24 * 60)),
            )
            for _ in range(args.questions)
        )
        db.commit()
        rows = unanswered.logged(30, "gaps")
        grouping = []
        for _ in range(args.tries):
            started = time.perf_counter()
            found = unanswered.groups(rows=rows)
            grouping.append(time.perf_counter() - started)
        distinct = len({unanswered.wording_key(row.question) for row in rows})
        principal = Principal(owner).get_id()
        bind_tenant(None)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = principal
        session["_fresh"] = True
    pages = []
    for _ in range(args.tries):
        started = time.perf_counter()
        answer = client.get("/console/robot/unanswered")
        assert answer.status_code == 200, answer.status_code
        pages.append(time.perf_counter() - started)
    print(f"{args.db}: {len(rows)} questions, {distinct} distinct wordings, {len(found)} groups")
    for name, times in (("grouping", grouping), ("page", pages)):
        median, most = statistics.median(times) * 1000, max(times) * 1000
        print(f"{name}: median {median:.0f} ms, max {most:.0f} ms")
    print("largest groups:", [(g.text, g.count) for g in sorted(found, key=lambda g: -g.count)[:6]])


if __name__ == "__main__":
    main()
