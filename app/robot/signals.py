"""What the robot publishes (tenants/events.py)."""

from __future__ import annotations

from tenants.events import domain_event

# The shop's knowledge base changed: entries, synonyms or words (sender: the tenant's id).
knowledge_changed = domain_event("robot_knowledge_changed")
# The robot answered, suggested or handed over a visitor's question (sender: the RobotQuestion).
robot_asked = domain_event("robot_asked")
