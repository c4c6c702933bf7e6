"""The multi-tenant core: tenants, people, memberships and seats, plans and entitlements.

Imports neither ``app`` nor ``billing``: everything else stands on it.
"""
