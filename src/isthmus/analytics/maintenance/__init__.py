"""Maintenance actions leave the platform: severe events become CMMS work requests, POSTed
to a webhook from a durable, ordered outbox."""

from isthmus.analytics.maintenance.outbox import Outbox, Pending
from isthmus.analytics.maintenance.webhook import (
    DeliveryError,
    WebhookDelivery,
    WebhookStats,
    post_json,
)
from isthmus.analytics.maintenance.workorder import event_id, work_request

__all__ = [
    "DeliveryError",
    "Outbox",
    "Pending",
    "WebhookDelivery",
    "WebhookStats",
    "event_id",
    "post_json",
    "work_request",
]
