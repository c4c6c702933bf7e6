"""The data layer: one Base, one scoped session, and tenant scoping by construction.

Every ORM statement is filtered by the session's current tenant (``bind_tenant``); new
tenant-owned rows get it filled in on flush. Code that must cross tenants says so with
``cross_tenant()``. On PostgreSQL the same tenant is set per transaction for the row-level
security policies created by the migrations, so a missed filter still cannot leak.

Two database roles (``bind_engines``): the app's, whose policies never cross tenants, and the
platform's, the only one whose policies honour the cross-tenant switch. ``cross_tenant()``
sends its statements over the platform role's connection, so SQL run on the app's connection
— an injection, say — cannot switch itself across shops. One session transaction may hold a
connection of each; the rule that keeps them from waiting on each other:

- a ``cross_tenant()`` block that only reads leaves the rest of the transaction on the app's
  connection (a site key, an API key or an e-mail looked up, then the shop's own work);
- once a block writes, the rest of the transaction stays on the platform's connection, so
  what follows sees (and may refer to) what it wrote: signup, invitations, the back office;
- a block may not start after the transaction wrote on the app's connection (it could not see
  those rows, and might wait for their locks forever): commit first, or say
  ``platform_transaction()`` before the first write.

SQLite has no roles: both are the one engine. The rule is kept there too, so a call site that
breaks it fails its tests on either database.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    ForeignKey,
    MetaData,
    TypeDecorator,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.pool import StaticPool

log = logging.getLogger("huike.db")

TENANT_KEY = "tenant_id"
MAX_ID = 2**63 - 1  # BIGINT; SQLite's INTEGER
IDLE_BEFORE_PING = 10.0  # seconds a pooled PostgreSQL connection may idle before it is pinged
CROSS_KEY = "cross_tenant"
AFTER_COMMIT_KEY = "after_commit"
PLATFORM_KEY = "platform_transaction"  # the rest of this transaction: the platform's connection
APP_WROTE_KEY = "app_wrote"  # this transaction wrote on the app role's connection
CONNECTIONS_KEY = "connections"  # this transaction's connections, for their settings
UNIT_ROWS_KEY = "unit_rows"  # rows read once for this transaction (scoped_get_once)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone on the way back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime: pass an aware one (UTC)")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON}


class TenantScoped:
    """Mixin for every tenant-owned table: a ``tenant_id`` filtered and filled in for you."""

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


class TenantRoot:
    """Mixin for the tenants table itself: a session sees only its own tenant's row."""

    id: Mapped[int] = mapped_column(primary_key=True)


_platform_binds: dict = {}  # the app role's engine -> the platform role's (bind_engines)


class TenantSession(Session):
    """Statements of ``cross_tenant()`` (and of a platform transaction) go to the platform
    role's engine; the rest to the app role's."""

    def get_bind(self, mapper=None, **kwargs):
        bind = super().get_bind(mapper, **kwargs)
        if self.info.get(CROSS_KEY) or self.info.get(PLATFORM_KEY):
            return _platform_binds.get(bind, bind)
        return bind


db: scoped_session[Session] = scoped_session(
    sessionmaker(class_=TenantSession, expire_on_commit=False)
)


def bind_engines(app_engine: Engine, platform_engine: Engine | None = None) -> None:
    """The scoped session's engines: the app role's, and the platform role's for
    ``cross_tenant()`` (None or the same engine: one role, as on SQLite)."""
    if platform_engine is not None and platform_engine is not app_engine:
        _platform_binds[app_engine] = platform_engine
    else:
        _platform_binds.pop(app_engine, None)
    db.configure(bind=app_engine)


def database_url(url: str) -> str:
    """psycopg2 for PostgreSQL: psycogreen makes it green under eventlet (psycopg 3 is not)."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg2://" + url[len(plain) :]
    return url


def make_engine(url: str, autocommit: bool = False, platform_role: str | None = None) -> Engine:
    """``autocommit``: PostgreSQL connections that stay in autocommit, for ``autocommit_engine``.
    ``platform_role``: the app role's engine refuses to connect as that role or a member of it
    (one ``SET ROLE`` away from crossing tenants)."""
    url = database_url(url)
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        # A file database keeps a few connections open (SQLAlchemy's default pool): opening
        # one per session, with its pragmas, and closing it took 40 % of a chat message.
        engine = create_engine(
            url,
            poolclass=StaticPool if in_memory else None,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy emits BEGIN.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                # WAL, synced at checkpoints rather than on every commit (Rails' and SQLite's own
                # advice for WAL): a crashed or killed server loses nothing; a power cut may lose
                # the last moment's commits. The fsync per commit blocked the event loop for a
                # fifth of every chat message. Production runs on PostgreSQL (docs/deploy.md).
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            if in_memory:
                conn.exec_driver_sql("BEGIN")
            else:
                _begin_immediate(conn.connection.dbapi_connection)

        return engine
    # pool_pre_ping would cost a round trip on every checkout, i.e. on every socket event: ping
    # only a connection that sat idle for a while instead (a dropped busy one fails one request
    # and makes the pool replace every connection older than it).
    if autocommit:
        # Each use is one round trip, so 10 kept connections serve thousands of writes a
        # second, and a burst waits its turn for one. No overflow: under a backlog, overflow
        # connections were opened and closed per use, and connecting costs ~100 times the
        # write (the worker sank from 500 to 72 messages a second, docs/BENCHMARKS.md).
        engine = create_engine(url, pool_size=10, max_overflow=0, isolation_level="AUTOCOMMIT")
    else:
        engine = create_engine(url, pool_size=20, max_overflow=20)

    @event.listens_for(engine, "checkin")
    def _note_idle_since(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):
        idle_since = record.info.get("idle_since")  # None: just connected
        if idle_since is not None and time.monotonic() - idle_since > IDLE_BEFORE_PING:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except engine.dialect.loaded_dbapi.Error as error:
                raise DisconnectionError("idle connection lost") from error  # the pool retries

    @event.listens_for(engine, "first_connect")
    def _refuse_rls_bypass(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        bypasses = cur.fetchone()[0]
        if bypasses:
            cur.close()
            raise RuntimeError(
                "DATABASE_URL connects as a superuser or BYPASSRLS role, which skips row-level "
                "security. Connect the app as a plain role and run migrations as the owner with "
                "MIGRATIONS_DATABASE_URL (docs/deploy.md)."
            )
        if platform_role:
            cur.execute(
                "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles "
                "WHERE rolname = %(r)s",
                {"r": platform_role},
            )
            row = cur.fetchone()
            if row is not None and row[0]:
                cur.close()
                raise RuntimeError(
                    f"DATABASE_URL connects as the platform role {platform_role!r} or a member "
                    "of it, whose row security crosses tenants. Connect the app as its own "
                    "role (DB_APP_ROLE) and platform code with PLATFORM_DATABASE_URL "
                    "(docs/deploy.md)."
                )
        cur.close()

    return engine


_autocommit_engines: dict[Engine, Engine] = {}


SQLITE_LOCK_WAIT = 30.0  # seconds a unit waits for SQLite's write lock before it fails


def _begin_immediate(dbapi_conn) -> None:
    """Take SQLite's write lock, waiting for it in short sleeps: sqlite's own busy wait blocks
    the whole process, so under eventlet the green thread holding the lock (reading a request
    body, writing a socket) could never finish and release it — every request froze for the
    full timeout. ``time.sleep`` is cooperative once eventlet has patched it."""
    deadline = time.monotonic() + SQLITE_LOCK_WAIT
    dbapi_conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.002)
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout = {int(SQLITE_LOCK_WAIT * 1000)}")


def autocommit_engine(engine: Engine) -> Engine:
    """A companion pool for ``engine`` (PostgreSQL) whose connections stay in autocommit: for
    hot paths that write in one statement, which is its own transaction. Switching a pooled
    connection into autocommit and back costs psycopg2 a round trip each way. Such SQL binds
    its tenant itself (``set_config`` in the same simple query) and names it in its WHERE."""
    if engine not in _autocommit_engines:
        url = engine.url.render_as_string(hide_password=False)
        _autocommit_engines.setdefault(engine, make_engine(url, autocommit=True))
    return _autocommit_engines[engine]


def current_tenant_id(session: Session | None = None) -> int | None:
    return (session or db()).info.get(TENANT_KEY)


def bind_tenant(tenant_id: int | None, session: Session | None = None) -> None:
    """Make ``tenant_id`` the tenant every following statement of this session is scoped to."""
    session = session or db()
    session.info[TENANT_KEY] = tenant_id
    _apply_everywhere(session)


@contextmanager
def cross_tenant(session: Session | None = None) -> Iterator[Session]:
    """Platform code that must see every tenant (signup, login lookup, back office, webhooks).

    Its statements run on the platform role's connection (see the module's docstring for how
    that connection and the app role's share a transaction)."""
    session = session or db()
    before = session.info.get(CROSS_KEY, False)
    if not before:
        _refuse_after_app_writes(session, "cross_tenant()")
    session.info[CROSS_KEY] = True
    try:
        _apply_everywhere(session)
        yield session
    finally:
        session.info[CROSS_KEY] = before
        _apply_everywhere(session)


def platform_transaction(session: Session | None = None) -> None:
    """The rest of this transaction runs on the platform role's connection, tenant filters and
    all: for platform code (a webhook) that mixes cross-tenant and one shop's writes in one
    transaction. Ends with the transaction."""
    session = session or db()
    if not session.info.get(PLATFORM_KEY):
        _refuse_after_app_writes(session, "platform_transaction()")
        session.info[PLATFORM_KEY] = True


def _refuse_after_app_writes(session: Session, what: str) -> None:
    if session.info.get(APP_WROTE_KEY) and not session.info.get(PLATFORM_KEY):
        raise RuntimeError(
            f"{what} after this transaction wrote as the app's role: the platform role's "
            "connection cannot see those rows. Commit first, or do the platform part first "
            "(tenants/db.py)."
        )


def _apply_everywhere(session: Session) -> None:
    """Bring every connection of the session's transaction to its tenant and switch."""
    if not session.in_transaction():
        return  # after_begin applies them
    for connection in session.info.get(CONNECTIONS_KEY, ()):
        _apply_db_settings(session, connection)
    if session.info.get(CROSS_KEY) or session.info.get(PLATFORM_KEY):
        session.connection()  # the platform role's connection, begun (after_begin applies)


def _apply_db_settings(session: Session, connection) -> None:
    """Row-level security reads these transaction-local settings (``is_local`` = true)."""
    if connection.dialect.name != "postgresql":
        return
    tenant = session.info.get(TENANT_KEY)
    # Once per transaction, so as the driver's own SQL (psycopg2): nothing to compile or cache.
    connection.exec_driver_sql(
        "SELECT set_config('app.tenant_id', %(t)s, true), "
        "set_config('app.cross_tenant', %(c)s, true)",
        {
            "t": "" if tenant is None else str(tenant),
            "c": "on" if session.info.get(CROSS_KEY) else "off",
        },
    )


def after_commit(fn: Callable[[], None], session: Session | None = None) -> None:
    """Run ``fn`` once this session's transaction has committed; never if it rolls back."""
    (session or db()).info.setdefault(AFTER_COMMIT_KEY, []).append(fn)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the transaction goes on
        return
    for fn in session.info.pop(AFTER_COMMIT_KEY, []):
        try:
            fn()
        except Exception:  # the change is stored: one failed side effect must not undo the rest
            log.exception("after-commit action failed", extra={"action": repr(fn)})


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_commit(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(AFTER_COMMIT_KEY, None)


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, _transaction, connection) -> None:
    connections = session.info.setdefault(CONNECTIONS_KEY, [])
    if connection not in connections:
        connections.append(connection)
    _apply_db_settings(session, connection)


@event.listens_for(Session, "after_flush")
def _note_writes(session: Session, _ctx) -> None:
    _note_write(session)


def _note_write(session: Session) -> None:
    if session.info.get(PLATFORM_KEY):
        return
    if session.info.get(CROSS_KEY):
        session.info[PLATFORM_KEY] = True  # what follows may refer to what the block wrote
    else:
        session.info[APP_WROTE_KEY] = True


@event.listens_for(Session, "after_transaction_end")
def _on_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        for key in (PLATFORM_KEY, APP_WROTE_KEY, CONNECTIONS_KEY, UNIT_ROWS_KEY):
            session.info.pop(key, None)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _note_write(state.session)
    if state.session.info.get(CROSS_KEY):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # Read afresh on every execute; None matches no row, so forgetting to bind fails closed.
    tenant_id = state.session.info.get(TENANT_KEY)
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        ),
        with_loader_criteria(TenantRoot, lambda cls: cls.id == tenant_id, include_aliases=True),
    )


@event.listens_for(Session, "before_flush")
def _fill_tenant(session: Session, _ctx, _instances) -> None:
    tenant_id = session.info.get(TENANT_KEY)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise RuntimeError(f"no tenant bound for new {type(obj).__name__}")
            obj.tenant_id = tenant_id
        elif (
            tenant_id is not None and obj.tenant_id != tenant_id and not session.info.get(CROSS_KEY)
        ):
            raise RuntimeError(f"{type(obj).__name__} belongs to another tenant")


def scoped_get(model, ident):
    """Load a tenant-owned row by id through the tenant filter.

    ``Session.get`` may answer from the identity map without SQL, and so without the filter;
    this always runs a filtered SELECT. A foreign id is simply not found, nor is one no
    database integer can hold (a URL can carry any number of digits).
    """
    if isinstance(ident, int) and not -MAX_ID <= ident <= MAX_ID:
        return None
    return db().scalar(select(model).where(model.id == ident))


def _unit_key(session: Session, model, ident) -> tuple:
    # the binding is part of the key: another tenant or the switch reads afresh
    return (model, ident, session.info.get(TENANT_KEY), bool(session.info.get(CROSS_KEY)))


def keep_for_unit(row) -> None:
    """Let ``scoped_get_once`` answer with ``row`` (loaded through the tenant filter) for the
    rest of this transaction; another tenant's row is not kept."""
    session = db()
    tenant_id = session.info.get(TENANT_KEY)
    if isinstance(row, TenantRoot):
        mine = row.id == tenant_id
    else:
        mine = not isinstance(row, TenantScoped) or row.tenant_id == tenant_id
    if session.in_transaction() and (mine or session.info.get(CROSS_KEY)):
        session.info.setdefault(UNIT_ROWS_KEY, {})[_unit_key(session, type(row), row.id)] = row


def scoped_get_once(model, ident):
    """``scoped_get`` read once per transaction, for a hot path that wants the same row several
    times (the call webhook: the shop's row, the caller). A second SELECT would return the
    same object anyway: a query does not refresh a row the session holds."""
    session = db()
    row = session.info.get(UNIT_ROWS_KEY, {}).get(_unit_key(session, model, ident))
    state = inspect(row) if row is not None else None
    if state is None or state.deleted or state.was_deleted or state.detached:
        row = scoped_get(model, ident)
        if row is not None:
            keep_for_unit(row)
    return row
