"""The agents' console."""

from app.console.views import bp

__all__ = ["bp"]
