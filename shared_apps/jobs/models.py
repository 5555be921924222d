from __future__ import annotations

import uuid

from django.db import models


class Job(models.Model):
    """One long-running piece of work and its progress. Schema: public.

    A job belongs to the account that started it: `owner_schema` is the schema where
    that account lives (a school's, or public for bureau staff), so a job is visible only
    on that host and only to its owner. Messages carry counts, never personal data.
    Written by jobs.services.
    """

    class State(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "进行中"
        SUCCEEDED = "succeeded", "已完成"
        FAILED = "failed", "失败"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_schema = models.CharField(max_length=63)
    owner_id = models.BigIntegerField()
    kind = models.CharField("任务类型", max_length=40)
    title = models.CharField("任务", max_length=100)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    percent = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    result_url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner_schema", "owner_id", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.title}（{self.get_state_display()}）"
