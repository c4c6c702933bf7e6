"""The widget's free callback (免费电话): what the shop offers, and a visitor's request checked,
stored and answered with when to expect the call.

A request is refused — with a clear message, nothing stored — unless the phone number is valid
in an allowed country and of a type a shop can safely call (premium-rate and shared-cost
numbers are how callback fraud makes money), the visitor agreed to the consent text, the
preferred time is within the next days, and the visitor, their address and the number are
under the shop's daily limits. A stored request becomes a job (``calls.place_callback``,
app/calls/callback_jobs.py): never a call from inside the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale
from babel.dates import format_skeleton, get_timezone_name
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from phonenumbers import SUPPORTED_REGIONS, PhoneNumberType
from sqlalchemy import func, select

from app.calls import signals
from app.calls.models import CallbackRequest, CallConnection, CallNumber, CallSettings
from app.chat import service as chat
from app.chat.models import Visitor
from app.chat.presence import insert_or_nothing
from app.crm import service as crm
from app.messages import MESSAGES
from tenants.db import current_tenant_id, db, scoped_get, utcnow
from tenants.errors import ServiceError
from tenants.jobs import enqueue
from tenants.models import Tenant

MAX_DAYS_AHEAD = 7  # a preferred time at most this far ahead
SOON = timedelta(minutes=10)  # a preferred time sooner than this is "now"
PAST_SLACK = timedelta(minutes=5)  # a clock a little behind, or a slow form, is still "now"
DAY = timedelta(days=1)
# Numbers a shop never calls for a stranger: they bill the caller (fraud's business model) or
# cannot be told apart from such numbers.
REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.UNKNOWN,
}

MESSAGES.update(
    {
        "callback_off": _l("Callbacks are not offered here. Chat with us or leave a message."),
        "callback_phone_invalid": _l("Enter a valid phone number, with its area code."),
        "callback_country": _l("We can only call numbers in %(countries)s."),
        "callback_number_type": _l(
            "We cannot call premium-rate or shared-cost numbers. Enter a mobile or landline number."
        ),
        "callback_consent": _l("Tick the box to agree to be called."),
        "callback_time_invalid": _l("Choose a time from now to %(days)s days ahead."),
        "callback_visitor_limit": _l(
            "You have asked for %(limit)s callbacks today. We will call you: please wait for "
            "our call, or chat with us."
        ),
        "callback_ip_limit": _l(
            "Too many callbacks were asked for from your network today. Please try again "
            "tomorrow, or chat with us."
        ),
        "callback_phone_limit": _l(
            "This number has had %(limit)s callback requests today. We will call it: please "
            "wait for our call."
        ),
        # the settings page
        "callback_countries_invalid": _l(
            "Choose at least one country, as two-letter codes like CN or HK."
        ),
        "callback_number_invalid": _l("Choose one of your Twilio numbers, or none."),
        "consent_too_long": _l("Keep the consent text under %(max)s characters."),
    }
)
CONSENT_MAX = 500


@dataclass(frozen=True)
class Request:
    """What the visitor's form sent, as text (checked by ``request_callback``)."""

    phone: str
    country: str = ""  # the country chosen in the form when the shop allows several
    consent: bool = False
    preferred: str = ""  # "YYYY-MM-DDTHH:MM" in the shop's time zone, or empty: now
    ip: str = ""
    page_url: str = ""


# --- the shop's settings ----------------------------------------------------------------------


def settings() -> CallSettings:
    """The shop's callback settings, made on first use with its own country (a concurrent
    first use inserts nothing and reads the same row)."""
    found = db.scalar(select(CallSettings))
    if found is None:
        tenant = scoped_get(Tenant, current_tenant_id())
        connection = db.connection()
        connection.execute(
            insert_or_nothing(CallSettings.__table__, connection.dialect.name),
            {"tenant_id": tenant.id, "callback_countries": [tenant.country or "CN"]},
        )
        found = db.scalar(select(CallSettings))
    return found


def consent_text(own: str, lang: str) -> str:
    """The text the visitor agrees to: the shop's ``own``, else the default in ``lang``."""
    if own.strip():
        return own.strip()
    with force_locale(lang):
        return gettext(
            "I agree that this shop calls me back on this number about my request. The call "
            "is free for me."
        )


def country_names(codes: list[str], lang: str) -> list[dict]:
    territories = Locale.parse(lang).territories
    return [{"code": code, "name": territories.get(code, code)} for code in codes]


def offer(tenant: Tenant, lang: str) -> dict:
    """What the widget's panel needs to offer a callback (GET /w/api/callback)."""
    shop_settings = settings()
    if not shop_settings.callback_enabled:
        return {"enabled": False}
    zone = ZoneInfo(tenant.timezone)
    now = utcnow().astimezone(zone)
    return {
        "enabled": True,
        "countries": country_names(shop_settings.callback_countries, lang),
        "consent": consent_text(shop_settings.consent_text, lang),
        "hours": hours_text(chat.settings().schedule, lang),
        "zone": get_timezone_name(zone, locale=Locale.parse(lang)),
        # the preferred time's bounds, as <input type="datetime-local"> reads them
        "min": now.strftime("%Y-%m-%dT%H:%M"),
        "max": (now + timedelta(days=MAX_DAYS_AHEAD)).strftime("%Y-%m-%dT%H:%M"),
    }


def twilio_numbers() -> list[CallNumber]:
    """The numbers a callback can ring the agent from: the shop's numbers on Twilio."""
    return list(
        db.scalars(
            select(CallNumber)
            .join(CallConnection, CallConnection.id == CallNumber.connection_id)
            .where(CallConnection.kind == "twilio")
            .order_by(CallNumber.id)
        )
    )


def save_settings(form: dict) -> CallSettings:
    """The settings page's form; any bad field refuses the whole form (nothing changes)."""
    shop_settings = settings()
    countries = []
    for code in re.split(r"[\s,，、]+", str(form.get("countries") or "").upper()):
        if code and code not in countries:
            countries.append(code)
    if not countries or len(countries) > 50 or not set(countries) <= SUPPORTED_REGIONS:
        raise ServiceError("callback_countries_invalid", field="countries")
    consent = str(form.get("consent_text") or "").strip()
    if len(consent) > CONSENT_MAX:
        raise ServiceError("consent_too_long", field="consent_text", max=CONSENT_MAX)
    number_id = str(form.get("number_id") or "").strip()
    numbers = {str(number.id): number.id for number in twilio_numbers()}
    if number_id and number_id not in numbers:
        raise ServiceError("callback_number_invalid", field="number_id")
    bounded = {
        name: _whole(form, name, low, high)
        for name, low, high in (
            ("callback_minutes", 1, 1440),
            ("per_visitor_daily", 1, 50),
            ("per_ip_daily", 1, 1000),
            ("per_phone_daily", 1, 50),
        )
    }
    shop_settings.callback_enabled = form.get("callback_enabled") in ("on", "1", "yes")
    shop_settings.callback_countries = countries
    shop_settings.consent_text = consent
    shop_settings.callback_number_id = numbers.get(number_id)
    for name, value in bounded.items():
        setattr(shop_settings, name, value)
    db.flush()
    return shop_settings


def _whole(form: dict, name: str, low: int, high: int) -> int:
    raw = str(form.get(name) or "").strip()
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ServiceError("number_invalid", field=name, low=low, high=high)
    return int(raw)


# --- a visitor's request ---------------------------------------------------------------------


def request_callback(visitor: Visitor, tenant: Tenant, asked: Request, lang: str):
    """Check and store a visitor's request, queue the job that acts on it, and say when the
    visitor can expect the call. Returns (the request, that sentence in ``lang``)."""
    shop_settings = settings()
    if not shop_settings.callback_enabled:
        raise ServiceError("callback_off")
    phone = read_phone(asked.phone, asked.country, tenant.country, shop_settings, lang)
    if not asked.consent:
        raise ServiceError("callback_consent", field="consent")
    preferred = read_preferred(asked.preferred, tenant.timezone)
    check_limits(shop_settings, visitor.id, asked.ip, phone)
    callback = CallbackRequest(
        visitor_id=visitor.id,
        phone=phone,
        preferred_at=preferred,
        consent=consent_text(shop_settings.consent_text, lang),
        ip=asked.ip[:45],
        page_url=asked.page_url[:1000],
    )
    db.add(callback)
    db.flush()
    crm.recognise(visitor, phone, source="callback")  # the customer with this phone, or a new one
    signals.callback_requested.send(callback)
    enqueue("calls.place_callback", tenant.id, callback.id)
    return callback, expectation(callback, shop_settings, tenant, lang)


def read_phone(raw: str, chosen: str, shop_country: str, shop_settings, lang: str) -> str:
    """The number in E.164, read in the chosen (else the shop's) country, if the shop may call
    it."""
    allowed = shop_settings.callback_countries
    region = chosen if chosen in allowed else (shop_country if shop_country in allowed else "")
    try:
        number = phonenumbers.parse(raw.strip()[:40], region or allowed[0])
    except phonenumbers.NumberParseException as exc:
        raise ServiceError("callback_phone_invalid", field="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ServiceError("callback_phone_invalid", field="phone")
    if phonenumbers.region_code_for_number(number) not in allowed:
        names = ", ".join(c["name"] for c in country_names(allowed, lang))
        raise ServiceError("callback_country", field="phone", countries=names)
    if phonenumbers.number_type(number) in REFUSED_TYPES:
        raise ServiceError("callback_number_type", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def read_preferred(raw: str, timezone: str, now: datetime | None = None) -> datetime | None:
    """A preferred time written in the shop's time zone, as UTC; None for "as soon as you can"
    (nothing chosen, or a time that is about now)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        local = datetime.strptime(raw[:16], "%Y-%m-%dT%H:%M")
    except ValueError as exc:
        raise ServiceError("callback_time_invalid", field="at", days=MAX_DAYS_AHEAD) from exc
    moment = local.replace(tzinfo=ZoneInfo(timezone))
    now = now or utcnow()
    if moment < now - PAST_SLACK or moment > now + timedelta(days=MAX_DAYS_AHEAD):
        raise ServiceError("callback_time_invalid", field="at", days=MAX_DAYS_AHEAD)
    return None if moment <= now + SOON else moment.astimezone(ZoneInfo("UTC"))


def check_limits(shop_settings: CallSettings, visitor_id: int, ip: str, phone: str) -> None:
    """The shop's limits over the last day: per visitor, per address, per number."""
    since = utcnow() - DAY
    for column, value, limit, code, field in (
        (CallbackRequest.visitor_id, visitor_id, shop_settings.per_visitor_daily,
         "callback_visitor_limit", None),
        (CallbackRequest.ip, ip, shop_settings.per_ip_daily, "callback_ip_limit", None),
        (CallbackRequest.phone, phone, shop_settings.per_phone_daily,
         "callback_phone_limit", "phone"),
    ):  # fmt: skip
        asked = db.scalar(
            select(func.count())
            .select_from(CallbackRequest)
            .where(column == value, CallbackRequest.created_at >= since)
        )
        if asked >= limit:
            raise ServiceError(code, field=field, limit=limit)


# --- when to expect the call -----------------------------------------------------------------


def due_at(callback: CallbackRequest, tenant: Tenant, now: datetime | None = None) -> datetime:
    """When the shop should call: the preferred time, now in hours, else at the next opening."""
    if callback.preferred_at is not None:
        return callback.preferred_at
    now = now or utcnow()
    return next_opening(chat.settings().schedule, tenant.timezone, now) or now


def expectation(callback, shop_settings: CallSettings, tenant: Tenant, lang: str) -> str:
    """The sentence that tells the visitor when we call."""
    now = utcnow()
    due = due_at(callback, tenant, now)
    with force_locale(lang):
        if callback.preferred_at is not None:
            return gettext(
                "Thank you! We will call you at %(when)s.", when=_when(due, tenant, lang)
            )
        if due <= now:
            return gettext(
                "Thank you! We will call you within %(minutes)s minutes.",
                minutes=shop_settings.callback_minutes,
            )
        return gettext(
            "Thank you! We are closed now: we will call you when we open, %(when)s.",
            when=_when(due, tenant, lang),
        )


def _when(moment: datetime, tenant: Tenant, lang: str) -> str:
    zone = ZoneInfo(tenant.timezone)
    locale = Locale.parse(lang)
    local = moment.astimezone(zone)
    day = format_skeleton("MMMEd", local, locale=locale)
    return f"{day} {local:%H:%M} ({get_timezone_name(zone, locale=locale)})"


def next_opening(schedule: dict, timezone: str, now: datetime) -> datetime | None:
    """``now`` when the shop is open (or has no hours), else the start of its next opening
    within a week; None when its week has no opening at all."""
    if not schedule:
        return now
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        for start, end in sorted(schedule.get(chat.WEEKDAYS[day.weekday()], [])):
            opens = datetime.combine(day, datetime.strptime(start, "%H:%M").time(), zone)
            closes = datetime.combine(day, datetime.strptime(end, "%H:%M").time(), zone)
            if opens <= local < closes:
                return now
            if opens > local:
                return opens
    return None


def hours_text(schedule: dict, lang: str) -> str:
    """The shop's week as one line: "Mon–Fri 09:00–18:00; Sat 10:00–16:00" (empty: always)."""
    if not schedule:
        return ""
    names = Locale.parse(lang).days["format"]["abbreviated"]
    spans: list[tuple[int, int, str]] = []  # (first day, last day, hours) of equal days
    for index, day in enumerate(chat.WEEKDAYS):
        hours = ", ".join(f"{start}–{end}" for start, end in sorted(schedule.get(day, [])))
        if spans and spans[-1][2] == hours and spans[-1][1] == index - 1:
            spans[-1] = (spans[-1][0], index, hours)
        else:
            spans.append((index, index, hours))
    parts = []
    for first, last, hours in spans:
        if not hours:
            continue
        days = names[first] if first == last else f"{names[first]}–{names[last]}"
        parts.append(f"{days} {hours}")
    return "; ".join(parts)
