"""The Team page (/console/analytics/team): how each agent and the shop answered over the
chosen period, with its charts and the table's CSV."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import format_decimal, format_percent, ngettext
from flask_babel import gettext as _

from app.analytics import charts, team
from app.analytics.views import bp, chosen_period, period_args, period_picker
from app.crm.spreadsheet import csv_response, csv_text
from tenants.errors import ServiceError


def duration(seconds: float | None) -> str:
    """A time as people read it: "45 s", "1 min 20 s", "2 h 5 min"; a dash for none."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d h %(m)d min", h=hours, m=minutes)
    if minutes:
        return _("%(m)d min %(s)d s", m=minutes, s=secs) if secs else _("%(m)d min", m=minutes)
    return _("%(s)d s", s=secs)


def _charts(report: team.TeamReport) -> dict:
    found = {}
    timed = [r for r in report.rows if r.first_response.count]
    if timed:
        found["first_response"] = charts.hbars(
            [(r.name, r.first_response.median, duration(r.first_response.median)) for r in timed],
            _("First response time (median) per agent"),
        )
    ratings = report.total.ratings
    if report.total.rating_count:
        found["ratings"] = charts.hbars(
            [
                (
                    ngettext("%(num)d star", "%(num)d stars", s),
                    ratings.get(s, 0),
                    str(ratings.get(s, 0)),
                )
                for s in (5, 4, 3, 2, 1)
            ],
            _("Ratings"),
        )
    return found


@bp.get("/team", endpoint="team")
def team_page():
    try:
        report = team.report(chosen_period())
    except ServiceError as error:
        return _refused(error)
    return render_template(
        "analytics/team.html",
        picker=period_picker("analytics.team", report.period),
        exports=[(_("Export CSV"), url_for("analytics.team_csv", **period_args(report.period)))],
        report=report,
        charts=_charts(report),
        duration=duration,
        decimal=format_decimal,
        percent=format_percent,
    )


def _refused(error: ServiceError):
    """A hand-typed date: the page again with the error beside its field, nothing computed."""
    picker = period_picker("analytics.team", None, error)
    return render_template("analytics/team.html", picker=picker), 422


@bp.get("/team.csv", endpoint="team_csv")
def team_csv():
    try:
        report = team.report(chosen_period())
    except ServiceError as error:
        return _refused(error)
    header = ["scope", "agent_id", "agent", *team.COLUMNS]
    lines = [["agent", row.agent_id, row.name, *team.figures(row).values()] for row in report.rows]
    lines.append(["shop", "", "", *team.figures(report.total).values()])
    when = report.period
    return csv_response(
        csv_text([header, *lines], bom=True), f"team-{when.start:%Y%m%d}-{when.end:%Y%m%d}.csv"
    )
