"""Billing: Stripe gateway, subscription state machine and the platform back office.

Built on ``tenants`` (plans, seats, entitlements); never imports ``app``.
"""
