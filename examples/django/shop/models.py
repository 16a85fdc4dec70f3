from django.db import models


class ReceivedEvent(models.Model):
    """Every event Longshore posted (one row per event id: deliveries are at least once)."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=60)
    summary = models.CharField(max_length=300, blank=True)
    payload = models.JSONField()
    deliveries = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]


class Action(models.Model):
    """What the page did: an email sent, a certificate requested, a task enqueued."""

    kind = models.CharField(max_length=20)
    ref = models.CharField(max_length=100)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
