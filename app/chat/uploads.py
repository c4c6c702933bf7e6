"""Chat attachments: a file kept under the shop's own folder if its bytes (not its name) are an
allowed type, who may see it, and what kind of message it makes."""

from __future__ import annotations

import secrets
from pathlib import Path

import filetype
from flask import current_app
from sqlalchemy import select

from app.chat.models import Attachment, Conversation, Message, Visitor
from tenants.db import db, scoped_get
from tenants.errors import ServiceError

UPLOAD_TYPES = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
UPLOAD_MAX_BYTES = 10 * 1024 * 1024


def upload_dir(tenant_id: int) -> Path:
    path = Path(current_app.config["INSTANCE_DIR"]) / "uploads" / str(tenant_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


UPLOAD_ENDPOINTS = ("widget.upload", "chat.upload")  # a body over MAX_CONTENT_LENGTH: too_big


def too_big() -> ServiceError:
    """The size limit in words ("Files can be at most 10 MB."), for the widget and the console."""
    return ServiceError("file_too_big", field="file", max_mb=UPLOAD_MAX_BYTES // 1024 // 1024)


def store_upload(file_storage, visitor_id: int | None) -> Attachment:
    """Keep an uploaded file under the shop's own folder, if its bytes are an allowed type."""
    if file_storage is None or not file_storage.filename:
        raise ServiceError("file_missing", field="file")
    data = file_storage.read(UPLOAD_MAX_BYTES + 1)
    if len(data) > UPLOAD_MAX_BYTES:
        raise too_big()
    kind = filetype.guess(data)
    if kind is None or kind.mime not in UPLOAD_TYPES:
        raise ServiceError("file_type", field="file")
    attachment = Attachment(
        visitor_id=visitor_id,
        name=Path(file_storage.filename).name[:200],
        content_type=kind.mime,
        size=len(data),
        storage_key=f"{secrets.token_hex(16)}.{kind.extension}",
    )
    db.add(attachment)
    db.flush()
    (upload_dir(attachment.tenant_id) / attachment.storage_key).write_bytes(data)
    return attachment


def visitor_may_see(attachment: Attachment, visitor: Visitor) -> bool:
    """A visitor sees the files they sent and those an agent sent into their chats."""
    if attachment.visitor_id == visitor.id:
        return True
    in_their_chat = (
        select(Message.id)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(
            Message.attachment_id == attachment.id,
            Message.sender == "agent",
            Conversation.visitor_id == visitor.id,
        )
    )
    return db.scalar(in_their_chat) is not None


def attachment_for_message(
    attachment_id: int | None, visitor: Visitor | None = None
) -> Attachment | None:
    if attachment_id is None:
        return None
    attachment = scoped_get(Attachment, attachment_id)
    if attachment is None or (visitor is not None and attachment.visitor_id != visitor.id):
        raise ServiceError("not_found", field="attachment_id")
    return attachment


def message_kind(attachment: Attachment | None) -> str:
    if attachment is None:
        return "text"
    return "image" if attachment.content_type.startswith("image/") else "file"
