"""The Volume page (/console/analytics/volume): when the work comes — conversations, messages,
left messages and calls by hour × weekday (a heatmap) and by day, in the shop's time zone —
and its two CSV exports."""

from __future__ import annotations

from babel.dates import format_skeleton, get_day_names
from flask import render_template, request, url_for
from flask_babel import get_locale, lazy_gettext

from app.analytics import charts, reports
from app.analytics.views import bp, chosen_period, period_args, period_picker
from app.crm.spreadsheet import csv_response, csv_text
from tenants.errors import ServiceError

MEASURES = {
    "conversations": lazy_gettext("Conversations"),
    "messages": lazy_gettext("Messages"),
    "left_messages": lazy_gettext("Left messages"),
    "calls": lazy_gettext("Calls"),
}
HOURS = [f"{h}" for h in range(24)]


def weekday_names() -> list[str]:
    """Monday to Sunday, short, in the reader's language."""
    names = get_day_names("abbreviated", locale=get_locale())
    return [names[d] for d in range(7)]


def day_label(day) -> str:
    """A table's day, short and with its weekday ("Sun, Nov 8", "11月8日周日")."""
    return format_skeleton("MMMEd", day, locale=get_locale())


def chosen_measure() -> str:
    """What the heatmap and the chart count (a choice of the page: conversations unless one of
    the others is asked for)."""
    measure = request.args.get("measure", "")
    return measure if measure in MEASURES else "conversations"


@bp.get("/volume", endpoint="volume")
def volume_page():
    try:
        when = chosen_period()
    except ServiceError as error:
        return _refused(error)
    return _page(when, chosen_measure())


def _refused(error: ServiceError):
    """A hand-typed date: the page again with the error beside its field, nothing computed."""
    picker = period_picker("analytics.volume", None, error)
    return render_template(
        "analytics/volume.html", picker=picker, measure=chosen_measure(), measures=MEASURES
    ), 422


def _page(when: reports.Period, measure: str) -> str:
    volume = reports.volume(when)
    name = str(MEASURES[measure])
    grid = [[cell[measure] for cell in day] for day in volume.heatmap]
    rows, label = weekday_names(), f"{name}: {lazy_gettext('by hour and weekday')}"
    cell = "{row} {column}:00 — {value}"
    days = [(day.isoformat(), counts[measure]) for day, counts in volume.days]
    by_day = f"{name}: {lazy_gettext('by day')}"
    dates = period_args(when)
    exports = [
        (lazy_gettext("Export CSV by day"), url_for("analytics.volume_csv", **dates)),
        (lazy_gettext("Export CSV by hour"), url_for("analytics.volume_hours_csv", **dates)),
    ]
    return render_template(
        "analytics/volume.html",
        picker=period_picker("analytics.volume", when),
        exports=exports,
        volume=volume,
        measure=measure,
        measures=MEASURES,
        heatmap=charts.heatmap(grid, rows, HOURS, label, cell),
        heatmap_phone=charts.heatmap(grid, rows, HOURS, label, cell, vertical=True),
        day_label=day_label,
        by_day=charts.bars(days, by_day, "{label}: {value}"),
        by_day_phone=charts.bars(days, by_day, "{label}: {value}", width=360, height=200),
    )


@bp.get("/volume.csv", endpoint="volume_csv")
def volume_csv():
    """One line per day of the period: the four counts."""
    try:
        volume = reports.volume(chosen_period())
    except ServiceError as error:
        return _refused(error)
    lines = [["date", *reports.VOLUME_COUNTS]]
    lines += [[day.isoformat(), *(c[k] for k in reports.VOLUME_COUNTS)] for day, c in volume.days]
    return csv_response(csv_text(lines), f"volume-{_span(volume.period)}.csv")


@bp.get("/volume-hours.csv", endpoint="volume_hours_csv")
def volume_hours_csv():
    """One line per weekday (1 = Monday … 7 = Sunday, ISO 8601) and local hour: the period's
    counts in that hour of that weekday."""
    try:
        volume = reports.volume(chosen_period())
    except ServiceError as error:
        return _refused(error)
    lines = [["weekday", "hour", *reports.VOLUME_COUNTS]]
    for weekday, hours in enumerate(volume.heatmap):
        for hour, c in enumerate(hours):
            lines.append([weekday + 1, hour, *(c[k] for k in reports.VOLUME_COUNTS)])
    return csv_response(csv_text(lines), f"volume-hours-{_span(volume.period)}.csv")


def _span(when: reports.Period) -> str:
    return f"{when.start.isoformat()}-{when.end.isoformat()}"
