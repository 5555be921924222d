"""Saved 综合查询 definitions. Schema: each school's own."""

from __future__ import annotations

import uuid

from django.db import models


class SavedQuery(models.Model):
    """A query a user saved to run again (保存的查询): its name and the JSON definition
    (reports.query.definition). Schema: each school's own, so another school's queries
    do not exist here. No PII beyond the filter values the user typed. Written by
    reports.query.services only; read and changed by its owner only."""

    # A UUID in URLs: sequential ids of two schools' tables overlap, a UUID never does.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_username = models.CharField("所有者", max_length=150)
    name = models.CharField("名称", max_length=60)
    definition = models.JSONField("查询定义", default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "保存的查询"
        verbose_name_plural = "保存的查询"
        ordering = ["owner_username", "-updated_at"]
        indexes = [models.Index(fields=["owner_username"], name="reports_savedquery_owner")]

    def __str__(self) -> str:
        return self.name
