"""The leave-message inbox: what a visitor writes when no one is there to chat."""

from __future__ import annotations

import re

from app.chat.messages import MAX_TEXT
from app.chat.models import LeftMessage, Visitor
from app.chat.visitors import clip
from tenants.db import db, scoped_get
from tenants.errors import ServiceError
from tenants.service import normalize_email


def check_left_message(
    name: str, text: str, phone: str = "", email: str = ""
) -> tuple[str, str, str, str]:
    """(name, text, phone, email) as they would be stored, or the ServiceError a user fixes."""
    name, text = clip(name, 120), (text or "").strip()
    phone, email = clip(phone, 40), clip(email, 254)
    if not name:
        raise ServiceError("required", field="name")
    if not phone and not email:
        raise ServiceError("contact_required", field="phone")
    if email:
        email = normalize_email(email)
    if phone and not all(c.isdigit() or c in "+-() " for c in phone):
        raise ServiceError("phone_invalid", field="phone")
    if not text:
        raise ServiceError("required", field="text")
    if len(text) > MAX_TEXT:
        raise ServiceError("too_long", field="text", max=MAX_TEXT)
    return name, text, phone, email


CJK = re.compile(r"[\u3400-\u9fff]")


def customer_locale(left: LeftMessage) -> str:
    """The language to answer in: the visitor's browser's, else the message's own (Chinese
    characters: zh_CN), else English."""
    visitor = scoped_get(Visitor, left.visitor_id) if left.visitor_id else None
    if visitor is not None and visitor.lang:
        return "zh_CN" if visitor.lang.lower().startswith("zh") else "en"
    return "zh_CN" if CJK.search(left.body + left.name) else "en"


def leave_message(
    visitor: Visitor | None,
    name: str,
    text: str,
    phone: str = "",
    email: str = "",
    page_url: str = "",
) -> LeftMessage:
    name, text, phone, email = check_left_message(name, text, phone, email)
    if visitor is not None:
        visitor.name = visitor.name or name
        visitor.email = visitor.email or email
        visitor.phone = visitor.phone or phone
    left = LeftMessage(
        visitor_id=visitor.id if visitor else None,
        name=name,
        phone=phone,
        email=email,
        body=text,
        page_url=clip(page_url, 1000),
    )
    db.add(left)
    db.flush()
    return left
