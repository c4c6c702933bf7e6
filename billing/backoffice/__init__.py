"""The platform staff back office: tenants, subscriptions, staff actions, revenue, audit."""
