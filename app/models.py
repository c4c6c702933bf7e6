"""Every table of the product, imported in one place for migrations and the test schema."""

from app.analytics import models as analytics_models
from app.api import models as api_models
from app.calls import models as calls_models
from app.chat import models as chat_models
from app.crm import models as crm_models
from app.push import models as push_models
from app.robot import models as robot_models
from billing import models as billing_models
from tenants import clock, outbox
from tenants import models as tenants_models

__all__ = [
    "analytics_models",
    "api_models",
    "calls_models",
    "billing_models",
    "chat_models",
    "clock",
    "crm_models",
    "outbox",
    "push_models",
    "robot_models",
    "tenants_models",
]
