"""What analytics writes when another module's things happen. It runs for every shop, so a
shop that upgrades sees the traffic it had before (only the reports are gated)."""

from __future__ import annotations

from app.analytics import recording
from app.calls import signals as calls
from app.chat import signals as chat
from app.crm import signals as crm


@chat.page_viewed.connect
def _on_page_viewed(visitor, **_) -> None:
    if visitor.page_count == 1:  # the first page of a visit
        recording.start_visit(visitor)


@chat.conversation_opened.connect
def _on_conversation_opened(conversation, **_) -> None:
    at = conversation.created_at
    recording.consultation(
        "chat",
        at,
        recording.visit_of(conversation.visitor_id, at),
        conversation_id=conversation.id,
    )


@chat.left_message_created.connect
def _on_left_message(left, visitor, **_) -> None:
    at = left.created_at
    recording.consultation(
        "message", at, recording.visit_of(visitor.id if visitor else None, at), ref_id=left.id
    )


@calls.call_ringing.connect
def _on_call_ringing(call, **_) -> None:
    if call.kind != "call" or call.direction != "in":
        return  # a callback's call was counted when the visitor asked for it
    at = call.started_at
    visit_id = recording.visit_of(call.visitor_id, at) or recording.customer_visit(
        call.customer_id, at
    )
    recording.consultation("call", at, visit_id, ref_id=call.id)


@calls.callback_requested.connect
def _on_callback_requested(callback, **_) -> None:
    at = callback.created_at
    recording.consultation(
        "callback", at, recording.visit_of(callback.visitor_id, at), ref_id=callback.id
    )


@crm.order_recorded.connect
@crm.order_changed.connect
def _on_order(order, **_) -> None:
    recording.order_seen(order)


@crm.visitor_identified.connect
def _on_visitor_identified(visitor, customer, **_) -> None:
    recording.visitor_known(visitor.id, customer.id)


@crm.customer_merged.connect
def _on_customer_merged(kept, source_id: int, **_) -> None:
    recording.customers_merged(kept.id, source_id)
