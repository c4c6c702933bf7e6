"""``flask --app app huike …``: set-up commands (migrate, catalog, demo shop) and the job
worker and clock processes;
``flask --app app staff …``: the back office's staff accounts."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app.analytics import demo as demo_traffic
from app.calls import connections as call_connections
from app.crm import demo as demo_customers
from billing.backoffice import staff as staff_accounts
from billing.models import STAFF_ROLES, StaffUser
from tenants import migrations
from tenants.clock import Clock
from tenants.db import cross_tenant, db
from tenants.errors import ServiceError
from tenants.jobs import jobs_of
from tenants.models import User
from tenants.plans import sync_catalog
from tenants.service import signup
from tenants.work import unit_of_work

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo12345"


class UnitGroup(AppGroup):
    """Each command is one unit of work: it commits at its end, or changes nothing."""

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)
        return lambda fn: register(unit_of_work()(fn))


huike = UnitGroup("huike", help="Huike set-up commands.")


@huike.command("migrate")
def migrate() -> None:
    """Bring the database schema to the newest migration."""
    config = current_app.config
    migrations.upgrade(
        config["MIGRATIONS_DATABASE_URL"],
        config["DB_APP_ROLE"],
        platform_role=config["DB_PLATFORM_ROLE"],
    )


@huike.command("catalog")
def catalog() -> None:
    """Load the plan catalog into the database."""
    sync_catalog()


@huike.command("demo")
def demo() -> None:
    """Create the demo shop if it is missing."""
    with cross_tenant():
        exists = db.scalar(select(User.id).where(User.email == DEMO_EMAIL))
    if exists is None:
        owner = signup("Demo Shop", DEMO_EMAIL, DEMO_PASSWORD, name="Demo Owner", locale="zh_CN")
        demo_customers.seed(owner)
        demo_traffic.seed(owner)
    click.echo(f"Demo shop: log in as {DEMO_EMAIL} / {DEMO_PASSWORD}")


@huike.command("reencrypt-secrets")
def reencrypt_secrets() -> None:
    """Encrypt the shops' phone provider secrets again with the first of ENCRYPTION_KEYS (after
    putting a new key first); then the older keys can be dropped."""
    count = call_connections.reencrypt_all()
    click.echo(f"{count} secrets encrypted with the newest key.")


@huike.command("init")
@click.pass_context
def init(ctx: click.Context) -> None:
    """Everything a fresh try-out needs: schema, catalog, demo shop."""
    ctx.invoke(migrate)
    ctx.invoke(catalog)
    ctx.invoke(demo)


def _until_stopped(stop: threading.Event) -> None:
    """SIGTERM (systemd, docker) and Ctrl-C end the command's loop, not the process at once."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())


# The job worker and the clock are not one unit each: they run for good, a unit per job/tick.
@click.command("jobs")
@click.option("--threads", type=int, help="Jobs run at once (default: JOB_THREADS).")
@with_appcontext
def jobs_worker(threads: int | None) -> None:
    """Run background jobs from Redis until stopped; the jobs in hand finish first."""
    runner = jobs_of(current_app)
    if runner.in_process:
        raise click.ClickException(
            "REDIS_URL is not set: without it the web process runs its own jobs."
        )
    stop = threading.Event()
    _until_stopped(stop)
    worker = runner.start_worker(threads or current_app.config["JOB_THREADS"])
    click.echo("Job worker running; stop it with SIGTERM or Ctrl-C.")
    stop.wait()
    worker.stop()


@click.command("clock")
@with_appcontext
def clock() -> None:
    """Queue the periodic jobs on time until stopped (any number may run: each job still
    runs once per period)."""
    if jobs_of(current_app).in_process:
        raise click.ClickException(
            "REDIS_URL is not set: without it the web process runs its own clock."
        )
    stop = threading.Event()
    _until_stopped(stop)
    click.echo("Clock running; stop it with SIGTERM or Ctrl-C.")
    Clock(current_app._get_current_object()).run(stop)


huike.add_command(jobs_worker)
huike.add_command(clock)


staff = UnitGroup("staff", help="Platform staff accounts for the back office (/backoffice/).")

STAFF_ERRORS = {
    "email_invalid": "That is not a valid e-mail address.",
    "password_short": "Use a password of at least 8 characters.",
    "password_long": "That password is too long.",
    "role_invalid": "Choose the role admin, billing or support.",
    "staff_exists": "A staff account with this e-mail exists already.",
    "staff_unknown": "No staff account has this e-mail.",
}


def _staff_error(error: ServiceError) -> click.ClickException:
    return click.ClickException(STAFF_ERRORS.get(error.code, error.code))


def _show_totp(member) -> None:
    click.echo("Scan this into an authenticator app (shown once, keep it secret):")
    click.echo(f"  URI:    {staff_accounts.provisioning_uri(member)}")
    click.echo(f"  Secret: {member.totp_secret}")


@staff.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(STAFF_ROLES), default="support", show_default=True)
@click.option("--name", default="", help="Shown in the back office and the audit log.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for when not given (give it only in scripts).",
)
def create_staff(email: str, role: str, name: str, password: str) -> None:
    """Create a staff account; prints its TOTP secret once."""
    try:
        member = staff_accounts.create_staff(email, password, role, name)
    except ServiceError as error:
        raise _staff_error(error) from None
    click.echo(f"Staff account {member.email} ({member.role}) created.")
    _show_totp(member)


@staff.command("list")
def list_staff() -> None:
    """Every staff account with its role and last sign-in."""
    for member in db.scalars(select(StaffUser).order_by(StaffUser.email)):
        state = "active" if member.active else "deactivated"
        last = member.last_login_at.strftime("%Y-%m-%d %H:%M") if member.last_login_at else "never"
        click.echo(f"{member.email:40} {member.role:8} {state:12} last sign-in {last}")


@staff.command("deactivate")
@click.argument("email")
def deactivate_staff(email: str) -> None:
    """Lock a staff account out; its open sessions end."""
    try:
        member = staff_accounts.find_staff(email)
    except ServiceError as error:
        raise _staff_error(error) from None
    staff_accounts.deactivate(member)
    click.echo(f"Staff account {member.email} deactivated.")


@staff.command("reset-totp")
@click.argument("email")
def reset_totp(email: str) -> None:
    """A new TOTP secret (a lost phone); the old codes and open sessions stop working."""
    try:
        member = staff_accounts.find_staff(email)
    except ServiceError as error:
        raise _staff_error(error) from None
    staff_accounts.new_totp_secret(member)
    _show_totp(member)
