"""What the multi-tenant core publishes to the modules above it, which it must not import."""

from __future__ import annotations

from tenants.events import domain_event

# Someone lost the right to stay connected: ``membership_id`` (with ``tenant_id``) a member
# disabled; ``user_id`` a person who logged out or reset their password; ``tenant_id`` alone a
# suspended shop, its visitors included. Sent with None: its receivers act after commit.
access_revoked = domain_event("access_revoked")
# A member lost their seat (sender: the Membership).
member_disabled = domain_event("member_disabled")
