"""/api/v1/calls: the shop's call log for its own server, behind the ``calls`` feature (its own
gate: a shop may have calls without the CRM, or the CRM without calls). The filters are the
console log's (app/calls/log.py); the key, the errors and the document are the API's."""

from __future__ import annotations

from flask import g

from app.api import auth
from app.api.inputs import ID_PATH, query
from app.api.openapi import operation
from app.api.params import CallListQuery, CallPath, encode_cursor
from app.api.schemas import Call, CallPage, members_by_id
from app.api.views import answer, api_blueprint
from app.calls import log
from app.calls.models import Call as CallRow
from tenants.db import db, scoped_get
from tenants.errors import ServiceError

bp = api_blueprint("api_calls", "calls")


@operation(
    bp,
    "get",
    "/calls",
    operation_id="listCalls",
    summary="List calls (the call log)",
    description=(
        "Calls in id order (the newest last); walk every page with `next_cursor`. Filters "
        "combine; an unknown parameter is refused. A call's record changes as its events "
        "arrive (ringing, answered, ended): read `ringing` and `answered` calls again later."
    ),
    query=CallListQuery,
    answers={200: ("A page of calls.", CallPage)},
    # a range whose end is not after its start
    refuses=("date_range_invalid",),
)
@auth.rate_limited
def list_calls():
    params = query(CallListQuery)
    zone = g.tenant.timezone
    log_filter = log.LogFilter(
        since=log.bound(params.from_, zone, end=False) if params.from_ else None,
        before=log.bound(params.to, zone, end=True) if params.to else None,
        direction=params.direction,
        status=params.status,
        number=params.number,
    )
    # ids never move (a start time can, when an earlier event arrives late): a walk through
    # every page sees each call exactly once
    found = log.calls(log_filter, g.tenant.country).order_by(None).order_by(CallRow.id)
    if params.cursor is not None:
        found = found.where(CallRow.id > params.cursor)
    rows = list(db.scalars(found.limit(params.limit + 1)))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return answer(Call.page(rows, encode_cursor(rows[-1].id) if more else None))


@operation(
    bp,
    "get",
    f"/calls/<{ID_PATH}:call_id>",
    operation_id="getCall",
    summary="Read a call",
    path_params=CallPath,
    answers={200: ("The call.", Call)},
)
@auth.rate_limited
def get_call(call_id: int):
    call = scoped_get(CallRow, call_id)
    if call is None:
        raise ServiceError("not_found", field="call_id")
    return answer(Call.of(call, members_by_id([call.agent_id])))
