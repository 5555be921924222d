from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Job(models.Model):
    """One long-running piece of work and its progress. Schema: public.

    A job belongs to the account that started it: `owner_schema` is the schema where
    that account lives (a school's, or public for bureau staff), so a job is visible only
    on that host and only to its owner. Messages carry counts, never personal data.
    Written by jobs.services. `heartbeat_at` is the last sign of life of the run (its
    creation, each progress report, and a beat every tenth of JOB_STALE_SECONDS from a
    thread beside the task): the jobs.sweep_stale beat job fails an open job whose
    heartbeat is older than its bound, since no worker is running it any more.
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
    heartbeat_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)  # runs started (retries + 1)

    class Meta:
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner_schema", "owner_id", "-created_at"]),
            # The sweep reads only the few open jobs, never the history.
            models.Index(
                fields=["heartbeat_at"],
                name="jobs_job_open_heartbeat_idx",
                condition=Q(state__in=["pending", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title}（{self.get_state_display()}）"
