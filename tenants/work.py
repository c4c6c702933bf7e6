"""One unit of work per HTTP request, socket event, webhook delivery, job and command.

A unit begins with its first statement, commits once at its end and rolls back on any error.
What was registered during it with ``tenants.db.after_commit`` (socket emits, jobs, mail) runs
only once that commit succeeded, and never after a rollback (anchor: Indico's ``RH.process``:
run the handler, commit, then flush what was queued). Services ``flush()``; only units commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response
from sqlalchemy.orm import Session

from tenants.db import db


@contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """A socket event, a job or a command: commit at the end, roll back on any exception."""
    session = session or db()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def init_app(app: Flask) -> None:
    """An HTTP request is a unit: a response below 400 commits, any other rolls back (an error
    page, a refused input: a refusal changes nothing). Registered first, so it runs after every
    other ``after_request`` hook; a failing commit becomes the 500 page, which rolls back."""

    @app.after_request
    def _end_unit(response: Response) -> Response:
        if db.registry.has():
            if response.status_code < 400:
                db.commit()
            else:
                db.remove()  # rolls back; the objects loaded stay readable for the response
        return response
