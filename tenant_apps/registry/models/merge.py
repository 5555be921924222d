"""Merges of duplicate student records (合并重复学籍, issue 19 point 6). Schema: each
school's own (the survivor's school).

Re-exported by registry.models.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class StudentMerge(models.Model):
    """One merge of two records of the same child into a survivor, with everything needed
    to undo it exactly. Schema: each school's own. PII: the snapshot holds both records'
    full rows (student, family, moved or set-aside related rows such as marks) before the
    merge; read only by registry.merge.services. Written by registry.merge.services."""

    survivor_uuid = models.UUIDField("保留学籍")
    merged_uuid = models.UUIDField("并入学籍")
    # field key -> "survivor" | "merged": whose value the survivor kept.
    choices = models.JSONField("字段取值", default=dict, encoder=DjangoJSONEncoder)
    family_from = models.CharField("家庭成员取自", max_length=10, default="survivor")
    # {"survivor": row, "merged": row, "family": {...}, "events": [...], "related": [...],
    #  "index": [...], "merge_events": [...]} — see registry.merge.services.
    snapshot = models.JSONField("合并前快照", default=dict, encoder=DjangoJSONEncoder)
    # The survivor's updated_at right after the merge: undo is allowed while it is unchanged.
    survivor_updated_at = models.DateTimeField()
    actor = models.CharField("操作人", max_length=80)
    at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = "学籍合并"
        verbose_name_plural = "学籍合并"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["merged_uuid"], name="registry_merge_merged")]

    def __str__(self) -> str:
        return f"{self.merged_uuid} → {self.survivor_uuid}"
