"""Every table of the product, imported in one place for migrations and the test schema."""

from tenants import models as tenants_models

__all__ = ["tenants_models"]
