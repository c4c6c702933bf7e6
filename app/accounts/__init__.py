"""Accounts: signup, sign-in, password reset, accepting an invitation."""

from app.accounts.views import bp

__all__ = ["bp"]
