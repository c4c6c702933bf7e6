"""The Huike web application: the app factory."""

from __future__ import annotations

from flask import Flask, g, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user

from app.config import LANGUAGES, from_env
from app.extensions import babel, csrf, limiter, login_manager, socketio
from tenants import jobs, work
from tenants.db import bind_engines, bind_tenant, db, make_engine


def select_locale() -> str:
    chosen = session.get("lang")
    if current_user and current_user.is_authenticated and current_user.user.locale:
        chosen = current_user.user.locale
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"], default="zh_CN")
    return "zh_CN" if best.startswith("zh") else best


def select_timezone() -> str | None:
    """Console times in the shop's time zone, the one its hours and filters use."""
    if current_user and current_user.is_authenticated:
        return current_user.tenant.timezone
    return None


def current_language() -> str:
    """The page's language as Huike names it (Babel reports zh_CN as zh_Hans_CN)."""
    return "zh_CN" if get_locale().language == "zh" else "en"


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(from_env())
    app.config.update(overrides or {})

    from app.ops import configure_logging

    configure_logging(app)
    work.init_app(app)  # first: its after_request hook then runs after every other one
    from app import edges

    edges.register(app)  # before any hook that reads the request
    if not app.config.get("DB_ENGINE_BOUND"):
        url, platform_url = app.config["DATABASE_URL"], app.config["PLATFORM_DATABASE_URL"]
        role = app.config["DB_PLATFORM_ROLE"]
        app_engine = make_engine(url, platform_role=role)
        # SQLite: one file, no roles, one engine. PostgreSQL: cross_tenant() connects as the
        # platform role, the only one row security lets cross tenants (tenants/db.py).
        bind_engines(app_engine, make_engine(platform_url) if platform_url != url else None)

    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    from app.calls import events as calls_events  # noqa: F401  (before init_app, as the chat's)
    from app.chat import agent_events, visitor_events  # noqa: F401  (before init_app: handlers kept for every app)
    from app.robot import events as robot_events  # noqa: F401  (before init_app, as the chat's)
    from app.robot import suggestions  # noqa: F401  (its socket event before init_app; listener, job)

    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        message_queue=app.config["REDIS_URL"],
        manage_session=False,
        cors_allowed_origins="*",  # checked per namespace: shop domains, console same-origin
        json=edges.SocketJSON,
    )
    from app.ops import serve_behind_proxy

    serve_behind_proxy(app, socketio.server)  # after init_app: it wraps what init_app made

    from app import accounts, console, errors, ops, pwa
    from app.chat import views, widget

    app.register_blueprint(ops.bp)
    app.register_blueprint(pwa.bp)
    app.register_blueprint(widget.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(views.bp)

    from app.api import analytics as api_analytics
    from app.api import calls as api_calls
    from app.api import console as api_console
    from app.api import robot as api_robot
    from app.api import views as api_views
    from app.crm import (
        field_admin,  # noqa: F401  (its routes join the crm blueprint)
        listeners,  # noqa: F401  (the CRM hears the chat's events)
        record,  # noqa: F401  (its routes join the crm blueprint)
        transfer,  # noqa: F401  (its routes join the crm blueprint)
    )
    from app.crm import identity as crm_identity
    from app.crm import panel as crm_panel
    from app.crm import views as crm_views

    csrf.exempt(api_views.bp)  # API keys, not cookies: nothing for a forged form to ride on
    app.register_blueprint(api_views.bp)
    csrf.exempt(api_calls.bp)
    app.register_blueprint(api_calls.bp)
    csrf.exempt(api_robot.bp)
    app.register_blueprint(api_robot.bp)
    csrf.exempt(api_analytics.bp)
    app.register_blueprint(api_analytics.bp)
    app.register_blueprint(api_console.bp)
    app.register_blueprint(crm_views.bp)
    app.register_blueprint(crm_panel.bp)
    app.register_blueprint(crm_identity.bp)
    from app.crm import widget as crm_widget

    app.register_blueprint(crm_widget.bp)

    from app.push import delivery  # noqa: F401  (the outbox's push handler)
    from app.push import listeners as push_listeners  # noqa: F401  (it hears the chat's events)
    from app.push import views as push_views

    app.register_blueprint(push_views.bp)
    from app import analytics, calls, robot

    calls.init_app(app)
    robot.init_app(app)
    analytics.init_app(app)

    from billing import views as billing_views

    csrf.exempt(billing_views.webhook)  # Stripe signs it; there is no form
    limiter.exempt(billing_views.webhook)
    app.register_blueprint(billing_views.bp)
    from app.chat import closing, notices, retention  # noqa: F401  (their jobs join the clock)
    from billing import reminders  # noqa: F401  (its periodic job joins the clock)
    from billing.backoffice import views as backoffice

    app.register_blueprint(backoffice.bp)
    login_view = app.view_functions["backoffice.login"]
    for key in (None, backoffice.email_key):  # per address, and per e-mail
        login_view = limiter.limit(backoffice.login_limit, methods=["POST"], key_func=key)(
            login_view
        )
    app.view_functions["backoffice.login"] = login_view
    errors.register(app)

    from app.cli import huike, staff

    app.cli.add_command(huike)
    app.cli.add_command(staff)
    from app.features import GatedBlueprint, register_template_helpers

    @app.before_request
    def _start_request():
        bind_tenant(None)  # identity binds it (Flask-Login's loader); nothing else may
        g.tenant = current_user.tenant if current_user.is_authenticated else None
        shop_page = request.blueprint in ("console", "chat", "crm_identity", "billing") or (
            isinstance(app.blueprints.get(request.blueprint), GatedBlueprint)  # a paid module's
        )
        if g.tenant is not None and g.tenant.status == "suspended" and shop_page:
            return render_template("console/suspended.html"), 403
        return None

    @app.teardown_request
    @app.teardown_appcontext
    def _end_session(_exc: BaseException | None) -> None:
        db.remove()  # one session per request: nothing cached carries into the next

    register_template_helpers(app)
    from app import slots

    slots.init_app(app)  # paid modules' boxes on other modules' pages
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["support_email"] = app.config["SUPPORT_EMAIL"]
    jobs.init_app(app)  # last: every module's jobs are registered by now
    return app
