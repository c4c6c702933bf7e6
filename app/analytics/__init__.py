"""Analytics (paid): where visitors came from (channel, source, keyword, campaign, landing
page), what that traffic became (consultations, orders and revenue), how the team answered,
and when the work comes — built from reporting events and rolled up per shop and local day."""


def init_app(app) -> None:
    """Register the module's pages; its listeners hear the other modules' events and its jobs
    join the clock."""
    from app.analytics import (  # noqa: F401  (pages join views.bp; listeners connect)
        funnel_views,
        jobs,
        listeners,
        team_listeners,
        team_views,
        views,
        volume_views,
    )

    app.register_blueprint(views.bp)
