"""Every table of the product, imported in one place for migrations and the test schema."""

from app.chat import models as chat_models
from tenants import models as tenants_models

__all__ = ["chat_models", "tenants_models"]
