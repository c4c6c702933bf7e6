"""What the multi-tenant core tells the modules above it, which it must not import (blinker,
as Flask itself uses). Senders send when they make the change; receivers act after commit."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Someone lost the right to stay connected: ``membership_id`` (with ``tenant_id``) a member
# disabled; ``user_id`` a person who logged out or reset their password; ``tenant_id`` alone a
# suspended shop, its visitors included.
access_revoked = _signals.signal("access-revoked")
