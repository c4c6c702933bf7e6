"""Calls (paid): the shop's phone numbers on the console's screen — provider webhooks drive one
call record per call, ringing calls pop up with the caller's record, missed calls become
callback tasks, and the widget asks for free callbacks."""


def init_app(app) -> None:
    """Register the module: its blueprints, and the modules whose import registers routes on
    the calls blueprint, jobs on the clock and listeners of calls' and orders' events."""
    from app.calls import (  # noqa: F401  (imported for what they register)
        callback_bridge,
        callback_jobs,
        callback_listeners,
        callback_views,
        callback_widget,
        card,
        hooks,
        jobs,
        log_listeners,
        pop_listeners,
        push_listeners,
        recordings,
        settings,
        task_jobs,
        task_listeners,
        task_views,
        twilio_hooks,
        views,
    )
    from app.extensions import csrf, limiter

    for provider_hooks in (hooks.bp, twilio_hooks.bp, callback_bridge.bp):
        csrf.exempt(provider_hooks)  # providers sign their requests; there is no form
        limiter.exempt(provider_hooks)  # a shop's PBX or Twilio posts every call's events
        app.register_blueprint(provider_hooks)
    app.register_blueprint(views.bp)
    app.register_blueprint(callback_widget.bp)
