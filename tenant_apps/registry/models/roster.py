"""人籍一致 confirmations (domain.md §3.18): once a term each class teacher confirms that the
class roster matches the pupils actually present. Schema: each school's own.
Re-exported by registry.models."""

from __future__ import annotations

from django.db import models

from tenant_apps.registry.models.classes import SchoolClass


class RosterCheck(models.Model):
    """One class's 人籍一致 confirmation for one term (school year "2026-2027" and term 1
    or 2, as grades.terms counts them). Schema: each school's own. No PII beyond the
    confirming teacher's username and the note. Written by registry.classes.roster only."""

    school_class = models.ForeignKey(
        SchoolClass, verbose_name="班级", on_delete=models.CASCADE, related_name="roster_checks"
    )
    school_year = models.CharField("学年", max_length=9)
    term = models.PositiveSmallIntegerField("学期")
    # The pupils on the roll when the teacher confirmed: a later change of the roster
    # does not undo the confirmation, but the figure shows what was confirmed.
    pupils = models.PositiveIntegerField("确认时在读人数", default=0)
    confirmed_by = models.CharField("确认人", max_length=150)
    confirmed_by_label = models.CharField(max_length=200, blank=True)
    confirmed_at = models.DateTimeField("确认时间", auto_now_add=True)
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        verbose_name = "人籍一致确认"
        verbose_name_plural = "人籍一致确认"
        ordering = ["-school_year", "-term", "school_class"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_class", "school_year", "term"], name="registry_roster_check_term"
            ),
            models.CheckConstraint(
                condition=models.Q(term__in=[1, 2]), name="registry_roster_check_term_no"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_class_id}:{self.school_year}-{self.term}"
