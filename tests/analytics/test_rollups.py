"""Rollups equal a recompute from the raw rows, whatever order things happened in: the job's
rolls after each step (late orders, a cancelled order, a changed total, a visitor identified
after their order, a customer merged, a visitor linked to another customer) leave exactly the
rows a recompute of every day writes — for a shop in Asia/Shanghai and one in New York, across
New York's clock changes (2026-03-08 has no 02:00, 2026-11-01 has two 01:30s)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from app.analytics import rollups
from app.analytics.models import OrdersDaily, TrafficDaily, VolumeHourly
from app.calls import records
from app.chat import service as chat
from app.chat import signals as chat_signals
from app.crm import service as crm
from tenants.db import bind_tenant, db

from ..conftest import set_tenant

ROLLUPS = (TrafficDaily, OrdersDaily, VolumeHourly)
SHOP = "https://tea-shop.example"
BAIDU = "https://www.baidu.com/s?wd=%E9%BE%99%E4%BA%95%E8%8C%B6"  # 龙井茶
SPRING_FORWARD, FALL_BACK = date(2026, 3, 8), date(2026, 11, 1)


@pytest.fixture(autouse=True)
def _in_the_app(app):
    """The services run as in a job or a request: inside the app (its jobs, its config)."""
    with app.app_context():
        yield


def local_moment(zone: str, day: date, hour: int, minute: int, fold: int = 0) -> datetime:
    """The UTC moment of a wall-clock time (``fold=1``: the second of a repeated hour)."""
    wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)
    return wall.astimezone(UTC)


class Shop:
    """Drives one shop's real services and events at exact moments, rolling up as the job
    would after each step."""

    def __init__(self, fixture):
        self.fixture = fixture
        self.tenant_id = fixture.tenant.id
        self.zone = fixture.tenant.timezone
        self.seq = 0

    def bind(self) -> None:
        bind_tenant(self.tenant_id)

    def roll(self) -> None:
        self.bind()
        rollups.roll()
        db.commit()

    def lands(self, at: datetime, page: str = "/", referrer: str = "", visitor=None):
        """A page view (the widget's hello): a new visitor, or a new visit of ``visitor``."""
        self.bind()
        visitor = chat.record_page_view(visitor, SHOP + page, referrer=referrer, now=at)
        chat_signals.page_viewed.send(visitor)
        db.commit()
        return visitor

    def says(self, visitor, at: datetime, text: str = "hello"):
        """A visitor's chat message (the socket's handler): a conversation opens with the
        first one."""
        self.bind()
        self.seq += 1
        message, conversation, _, started = chat.visitor_message(
            visitor, f"m-{self.seq}", text, now=at
        )
        if started:
            chat_signals.conversation_opened.send(conversation)
        chat_signals.message_created.send(
            message, visitor_id=visitor.id, tenant_id=self.tenant_id, country="CN"
        )
        db.commit()

    def leaves_message(self, visitor, at: datetime) -> None:
        """The widget's leave-message form, posted at ``at``."""
        self.bind()
        left = chat.leave_message(visitor, "Li", "please call back", phone="13800000000")
        left.created_at = at
        db.flush()
        chat_signals.left_message_created.send(left, visitor=visitor)
        db.commit()

    def calls(self, at: datetime, phone: str = "13800000000") -> None:
        """A call ringing on the shop's number (the provider's signed webhook)."""
        self.bind()
        self.seq += 1
        records.record(
            self.fixture.call_connection,
            records.ProviderEvent(
                call_ref=f"rollup-call-{self.seq}",
                event="ringing",
                occurred_at=at,
                from_number=phone,
                to_number=self.fixture.call_number.e164,
            ),
        )
        db.commit()

    def customer(self, external_id: str):
        self.bind()
        customer = crm.save_customer(None, {"name": external_id, "external_id": external_id})
        db.commit()
        return customer

    def link(self, visitor, customer) -> None:
        self.bind()
        crm.link_visitor(visitor, customer)
        db.commit()

    def order(self, order_id: str, customer_id: str, placed_at: datetime, total: str, **more):
        self.bind()
        payload = {
            "order_id": order_id,
            "total": total,
            "placed_at": placed_at.isoformat(),
            "customer": {"external_id": customer_id},
            **more,
        }
        crm.upsert_order(payload)
        db.commit()

    def changes_order(self, order_id: str, **changes) -> None:
        self.bind()
        crm.update_order(crm.order_by_external_id(order_id), changes)
        db.commit()

    def merge(self, kept, folded) -> None:
        self.bind()
        crm.merge(kept, folded)
        db.commit()

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every rollup row of the shop, without its id."""
        self.bind()
        found = {}
        for table in ROLLUPS:
            columns = [c for c in table.__table__.columns if c.name != "id"]
            found[table.__tablename__] = sorted(tuple(row) for row in db.execute(select(*columns)))
        return found

    def recompute_everything(self, first: date, last: date) -> None:
        """Wipe the shop's rollups and recompute every day from the raw rows."""
        self.bind()
        for table in ROLLUPS:
            db.execute(delete(table))
        rollups.recompute(first + timedelta(days=n) for n in range((last - first).days + 1))
        db.commit()

    def volume_by_hour(self, day: date, count: str) -> dict[int, int]:
        self.bind()
        column = getattr(VolumeHourly, count)
        rows = db.execute(select(VolumeHourly.hour, column).where(VolumeHourly.day == day))
        return {hour: n for hour, n in rows if n}

    def orders_of(self, day: date, dimension: str = "keyword", model: str = "first"):
        self.bind()
        rows = db.execute(
            select(OrdersDaily.value, OrdersDaily.currency, OrdersDaily.orders, OrdersDaily.revenue)
            .where(
                OrdersDaily.day == day,
                OrdersDaily.dimension == dimension,
                OrdersDaily.model == model,
            )
            .order_by(OrdersDaily.value, OrdersDaily.currency)
        )
        return [tuple(r) for r in rows]


def every_hour_of(shop: Shop, day: date, minute: int = 30) -> list[datetime]:
    """One moment in each real hour of the local day: 23 on a spring-forward day, 25 on a
    fall-back day."""
    start = local_moment(shop.zone, day, 0, minute)
    end = local_moment(shop.zone, day + timedelta(days=1), 0, 0)
    moments = []
    while start < end:
        moments.append(start)
        start += timedelta(hours=1)
    return moments


def drive(shop: Shop, day: date) -> None:
    """A season of a shop's life around ``day``, rolled up after each step."""
    at = lambda d, h, m=0, fold=0: local_moment(shop.zone, d, h, m, fold)  # noqa: E731
    eve, next_day = day - timedelta(days=1), day + timedelta(days=1)
    tag = day.isoformat()  # customers and orders of each season apart
    # A searcher lands the evening before, chats every hour of the day, leaves a message and
    # phones in; another visitor comes from an ad.
    searcher = shop.lands(at(eve, 22, 0), "/longjing", BAIDU)
    shop.roll()
    for moment in every_hour_of(shop, day):
        shop.says(searcher, moment)
    shop.roll()
    shop.leaves_message(searcher, at(day, 1, 30))
    shop.leaves_message(searcher, at(day, 1, 30, fold=1))
    shop.calls(at(day, 1, 15, fold=1))
    shop.calls(at(day, 3, 45))
    shop.roll()
    clicker = shop.lands(at(day, 23, 59), "/gift?utm_source=baidu&utm_medium=cpc&utm_term=礼盒")
    shop.lands(at(next_day, 0, 0), "/?utm_campaign=spring", visitor=None)
    shop.roll()
    # The searcher buys, and the shop tells us days later (a late order, placed the evening
    # before the clock change), then another order whose total and then status change.
    li = shop.customer(f"li-{tag}")
    shop.link(searcher, li)
    shop.roll()
    shop.order(f"L-1-{tag}", f"li-{tag}", at(eve, 23, 30), "128.00")
    shop.roll()
    shop.order(f"L-2-{tag}", f"li-{tag}", at(day, 1, 45, fold=1), "50.00", currency="USD")
    shop.roll()
    shop.changes_order(f"L-2-{tag}", total="55.00")
    shop.roll()
    shop.order(f"L-3-{tag}", f"li-{tag}", at(next_day, 10, 0), "20.00")
    shop.roll()
    shop.changes_order(f"L-3-{tag}", status="cancelled")
    shop.roll()
    # The ad's clicker bought the next day under a login the shop only later tied to them.
    wang = shop.customer(f"wang-{tag}")
    shop.order(f"W-1-{tag}", f"wang-{tag}", at(next_day, 9, 0), "300.00")
    shop.roll()
    shop.link(clicker, wang)
    shop.roll()
    # "wang-2" is wang by another login: the records merge, and so does the order.
    wang_2 = shop.customer(f"wang-2-{tag}")
    shop.order(f"W-2-{tag}", f"wang-2-{tag}", at(next_day, 12, 0), "40.00")
    shop.roll()
    shop.merge(wang, wang_2)
    shop.roll()
    # An agent first tied a returning browser to the wrong customer, then to the right one.
    zhao, qian = shop.customer(f"zhao-{tag}"), shop.customer(f"qian-{tag}")
    browser = shop.lands(at(day, 8, 0), "/oolong", "https://www.google.com/")
    shop.order(f"Z-1-{tag}", f"zhao-{tag}", at(next_day, 8, 0), "10.00")
    shop.order(f"Q-1-{tag}", f"qian-{tag}", at(day, 9, 30), "70.00")
    shop.roll()
    shop.link(browser, zhao)
    shop.roll()
    shop.link(browser, qian)
    shop.roll()


def assert_rolls_equal_a_recompute(shop: Shop) -> None:
    rolled = shop.snapshot()
    assert rolled["analytics_volume_hourly"]  # not two empty lists
    # The fixture's rows are from today; this test's from 2026. Every day in between, both ends.
    shop.recompute_everything(date(2026, 1, 1), date.today() + timedelta(days=1))
    assert shop.snapshot() == rolled


def test_new_york_rolls_equal_a_recompute_across_both_clock_changes(two_tenants):
    set_tenant(two_tenants.a, timezone="America/New_York")
    shop = Shop(two_tenants.a)
    drive(shop, SPRING_FORWARD)
    drive(shop, FALL_BACK)

    # Spring forward: 23 hours, none of them 2 o'clock.
    assert shop.volume_by_hour(SPRING_FORWARD, "messages") == {h: 1 for h in range(24) if h != 2}
    # Fall back: 25 hours, the two 1:30s both in hour 1.
    assert shop.volume_by_hour(FALL_BACK, "messages") == {h: 2 if h == 1 else 1 for h in range(24)}
    assert shop.volume_by_hour(FALL_BACK, "left_messages") == {1: 2}
    assert shop.volume_by_hour(FALL_BACK, "calls") == {1: 1, 3: 1}
    assert shop.volume_by_hour(FALL_BACK, "conversations") == {0: 1}
    # On spring-forward day 1:30 exists once and 1:15 "fold=1" is the same 1:15 (EST).
    assert shop.volume_by_hour(SPRING_FORWARD, "left_messages") == {1: 2}
    assert shop.volume_by_hour(SPRING_FORWARD, "calls") == {1: 1, 3: 1}
    # The late order of 23:30 the evening before is that day's (04:30 UTC the next day).
    assert shop.orders_of(FALL_BACK - timedelta(days=1)) == [("龙井茶", "CNY", 1, 12800)]
    # On the day: L-2 (total changed) is the searcher's; Q-1 the relinked browser's (organic
    # Google: not provided).
    assert shop.orders_of(FALL_BACK) == [
        ("(not provided)", "CNY", 1, 7000),
        ("龙井茶", "USD", 1, 5500),
    ]
    # The next day: W-1 and merged W-2 are the clicker's (ad keyword); L-3 was cancelled; the
    # browser no longer explains Z-1 once it is known to be another customer's.
    assert shop.orders_of(FALL_BACK + timedelta(days=1)) == [
        ("(unattributed)", "CNY", 1, 1000),
        ("礼盒", "CNY", 2, 34000),
    ]
    assert_rolls_equal_a_recompute(shop)


def test_shanghai_rolls_equal_a_recompute_and_days_run_midnight_to_midnight(two_tenants):
    shop = Shop(two_tenants.b)
    assert shop.zone == "Asia/Shanghai"
    drive(shop, SPRING_FORWARD)  # no clock change in Shanghai: a day like any other

    day = SPRING_FORWARD
    assert shop.volume_by_hour(day, "messages") == {h: 1 for h in range(24)}
    # 23:59 local (15:59 UTC) is the day's; 00:00 the next (16:00 UTC the same UTC day) is not.
    shop.bind()
    visits = db.execute(
        select(TrafficDaily.day, TrafficDaily.value, TrafficDaily.visits).where(
            TrafficDaily.dimension == "campaign", TrafficDaily.visits > 0
        )
    ).all()
    assert sorted(visits) == [
        (day - timedelta(days=1), "", 1),
        (day, "", 2),
        (day + timedelta(days=1), "spring", 1),
    ]
    assert_rolls_equal_a_recompute(shop)
