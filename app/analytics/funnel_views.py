"""The funnel page (/console/analytics) and its CSV: traffic → consultations → orders per
channel, source, keyword, campaign or landing page, first or last touch, beside the previous
period of the same length. The numbers are reports.funnel's; this file words, sorts and cuts."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request, url_for
from flask_babel import lazy_gettext as _l

from app.analytics import charts, reports
from app.analytics.models import NOT_PROVIDED, UNATTRIBUTED
from app.analytics.views import bp, period_picker, shop_today, span_text
from app.api.schemas import money
from app.crm.spreadsheet import csv_response, csv_text
from tenants.errors import ServiceError

SHOWN_ROWS = 100  # a shop with thousands of keywords: the CSV has them all (and sorts)
CHART_ROWS = 10
# What a column sorts by; revenue by the period's main currency first (reports never add
# currencies), then the others.
SORTS = (
    "value",
    "visits",
    "consultations",
    "consultation_rate",
    "orders",
    "order_rate",
    "revenue",
    "revenue_per_visit",
)
CHANNEL_NAMES = {
    "paid": _l("Paid search and ads"),
    "search": _l("Organic search"),
    "social": _l("Social"),
    "email": _l("E-mail and newsletters"),
    "referral": _l("Referral"),
    "direct": _l("Direct"),
}
DIMENSION_NAMES = {
    "channel": _l("Channel"),
    "source": _l("Source"),
    "keyword": _l("Keyword"),
    "campaign": _l("Campaign"),
    "landing_page": _l("Landing page"),
}
MODEL_NAMES = {"first": _l("First touch"), "last": _l("Last touch")}
SENTINELS = {NOT_PROVIDED: _l("(not provided)"), UNATTRIBUTED: _l("(unattributed)")}


def value_name(by: str, value: str) -> str:
    """A row's value as the page shows it; the CSV and the API keep the raw value."""
    if value in SENTINELS:
        return str(SENTINELS[value])
    if by == "channel":
        return str(CHANNEL_NAMES.get(value, value))
    if not value:
        return str(_l("(direct)") if by == "source" else _l("(none)"))
    return value


@dataclass(frozen=True)
class Choice:
    """What the page was asked for: the raw text of each field (the form shows it back)."""

    start: str
    end: str
    by: str
    model: str
    sort: str
    dir: str

    @classmethod
    def of_request(cls) -> Choice:
        args = request.args
        return cls(
            start=args.get("from", ""),
            end=args.get("to", ""),
            by=args.get("by", "channel"),
            model=args.get("model", "first"),
            sort=args.get("sort", "visits"),
            dir=args.get("dir", "desc"),
        )

    def params(self, **changes) -> dict[str, str]:
        """The query string of a link to the page with ``changes``."""
        values = {
            "from": self.start,
            "to": self.end,
            "by": self.by,
            "model": self.model,
            "sort": self.sort,
            "dir": self.dir,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}


def read_funnel(choice: Choice) -> reports.Funnel:
    when = reports.period(choice.start or None, choice.end or None, shop_today())
    by = reports.dimension(choice.by or None)
    attribution = reports.model(choice.model or None)
    if choice.sort not in SORTS:
        raise ServiceError("sort_invalid", field="sort")
    if choice.dir not in ("asc", "desc"):
        raise ServiceError("sort_invalid", field="dir")
    return reports.funnel(when, by, attribution)


def currencies_of(funnel: reports.Funnel) -> list[str]:
    """The period's currencies, the largest revenue first (alphabetical on a tie)."""
    revenue = funnel.total.revenue
    return sorted(revenue, key=lambda c: (-revenue[c], c))


def sorted_rows(funnel: reports.Funnel, sort: str, descending: bool) -> list[reports.FunnelRow]:
    currencies = currencies_of(funnel)

    def key(row: reports.FunnelRow):
        if sort == "value":
            return value_name(funnel.by, row.value).lower()
        if sort == "revenue":
            return tuple(row.revenue.get(c, 0) for c in currencies)
        if sort == "revenue_per_visit":
            return tuple(row.revenue_per_visit(c) or 0 for c in currencies)
        found = getattr(row, sort)
        return -1 if found is None else found  # a rate without visits sorts below 0 %

    # ties keep reports' order (most visits first), whichever way the column sorts
    return sorted(funnel.rows, key=key, reverse=descending)


def change(now: float, before: float) -> float | str | None:
    """Now against before as a fraction (0.25 = +25 %); "new" when there was nothing before,
    none when there is nothing either time."""
    if not before:
        return "new" if now else None
    return (now - before) / before


@dataclass
class Changes:
    visits: float | str | None
    consultations: float | str | None
    orders: float | str | None
    revenue: dict[str, float | str | None]


def changes(row: reports.FunnelRow, before: reports.FunnelRow | None) -> Changes:
    before = before or reports.FunnelRow(row.value)
    currencies = sorted(set(row.revenue) | set(before.revenue))
    return Changes(
        visits=change(row.visits, before.visits),
        consultations=change(row.consultations, before.consultations),
        orders=change(row.orders, before.orders),
        revenue={c: change(row.revenue.get(c, 0), before.revenue.get(c, 0)) for c in currencies},
    )


def _form_context(
    choice: Choice, funnel: reports.Funnel | None, error: ServiceError | None = None
) -> dict:
    return {
        "choice": choice,
        "picker": period_picker("analytics.index", funnel.period if funnel else None, error),
        "dimensions": DIMENSION_NAMES,
        "models": MODEL_NAMES,
        "value_name": value_name,
    }


def _refused(choice: Choice, error: ServiceError):
    """The page again with the error beside its field, and nothing computed."""
    return render_template("analytics/funnel.html", **_form_context(choice, None, error)), 422


@bp.get("", endpoint="index")
def funnel_page():
    choice = Choice.of_request()
    try:
        funnel = read_funnel(choice)
    except ServiceError as error:
        return _refused(choice, error)
    rows = sorted_rows(funnel, choice.sort, choice.dir == "desc")
    top = sorted(funnel.rows, key=lambda r: (-r.visits, -r.consultations, -r.orders))
    chart = charts.funnel_bars(
        [
            (value_name(funnel.by, r.value), r.visits, r.consultations, r.orders)
            for r in top[:CHART_ROWS]
        ]
    )
    csv_url = url_for(".funnel_csv", **choice.params(sort="", dir=""))
    return render_template(
        "analytics/funnel.html",
        **_form_context(choice, funnel),
        exports=[(_l("Export CSV"), csv_url)],
        funnel=funnel,
        previous_span=span_text(funnel.period.previous()),
        rows=rows[:SHOWN_ROWS],
        hidden=max(0, len(rows) - SHOWN_ROWS),
        currencies=currencies_of(funnel),
        changes=changes,
        chart=chart,
        sort_link=lambda column: url_for(".index", **_sort_params(choice, column)),
        csv_url=csv_url,
    )


def _sort_params(choice: Choice, column: str) -> dict[str, str]:
    """A header's link: its column, the other way round when it is the column sorted now
    (numbers start largest first, names A to Z)."""
    if choice.sort == column:
        return choice.params(sort=column, dir="asc" if choice.dir == "desc" else "desc")
    return choice.params(sort=column, dir="asc" if column == "value" else "desc")


def _rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.4f}"


CSV_COLUMNS = ("value", "visits", "consultations", "consultation_rate", "orders", "order_rate")


@bp.get("/funnel.csv")
def funnel_csv():
    """Every row of the funnel with raw values, one revenue column per currency."""
    choice = Choice.of_request()
    try:
        funnel = read_funnel(choice)
    except ServiceError as error:
        return _refused(choice, error)
    currencies = sorted(funnel.total.revenue)
    lines = [
        [
            *CSV_COLUMNS,
            *(f"revenue_{c}" for c in currencies),
            *(f"revenue_per_visit_{c}" for c in currencies),
        ]
    ]
    for row in funnel.rows:
        lines.append(
            [
                row.value,
                row.visits,
                row.consultations,
                _rate(row.consultation_rate),
                row.orders,
                _rate(row.order_rate),
                *(money(row.revenue.get(c, 0)) for c in currencies),
                *("" if row.visits == 0 else money(row.revenue_per_visit(c)) for c in currencies),
            ]
        )
    when = funnel.period
    name = f"funnel-{funnel.by}-{funnel.model}-{when.start:%Y%m%d}-{when.end:%Y%m%d}.csv"
    return csv_response(csv_text(lines, bom=True), name)
