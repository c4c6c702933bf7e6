"""Robot answers (paid): the shop's knowledge base answers visitors' questions, suggests
answers to agents and hands over to a person when unsure or asked."""


def init_app(app) -> None:
    """Register the module's blueprints, and the modules whose import registers routes on
    them and listeners of the chat's events."""
    from app.chat import responders
    from app.robot import (  # noqa: F401  (their routes join views.bp)
        responder,
        settings,
        transfer,
        unanswered_views,
        views,
    )

    app.register_blueprint(views.bp)
    responders.register(responder.robot)
