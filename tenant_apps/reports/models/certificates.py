"""Certificates the school issues (学籍证明, 毕业证书, 结业证明): numbering schemes, their
counters and the issued certificates with the values printed on them, frozen at issue.
Schema: each school's own. Written only by reports.certificates.services."""

from __future__ import annotations

from django.db import models


class Kind(models.TextChoices):
    ENROLMENT = "enrolment", "学籍证明"
    DIPLOMA = "diploma", "毕业证书"
    COMPLETION = "completion", "结业证明"


# Kinds a pupil holds at most one valid certificate of, ever (a void one may be replaced).
SINGLE_KINDS = (Kind.DIPLOMA, Kind.COMPLETION)


class CertificateScheme(models.Model):
    """How the school numbers one kind: `{prefix}{year}{seq:0{width}d}`. Editable by the
    certificate manager; the sequence lives in CertificateCounter per (kind, prefix,
    year), so going back to an earlier prefix or year continues its counter and never
    hands out a number twice. Schema: each school's own. No PII."""

    kind = models.CharField("证书类型", max_length=12, choices=Kind.choices, unique=True)
    prefix = models.CharField("编号前缀", max_length=20, blank=True)
    year = models.PositiveSmallIntegerField("年份")
    width = models.PositiveSmallIntegerField("序号位数", default=4)
    updated_by = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "证书编号规则"
        verbose_name_plural = "证书编号规则"
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.prefix}{self.year}"


class CertificateCounter(models.Model):
    """The last sequence number used for one (kind, prefix, year): the row issue locks
    (SELECT ... FOR UPDATE), so two issues at once get consecutive numbers. Schema: each
    school's own. No PII."""

    kind = models.CharField(max_length=12, choices=Kind.choices)
    prefix = models.CharField(max_length=20, blank=True)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "证书编号计数"
        verbose_name_plural = "证书编号计数"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "prefix", "year"], name="reports_cert_counter_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.prefix}{self.year}:{self.last}"


class Certificate(models.Model):
    """One issued certificate. `values` holds what is printed (name, sex, birth date,
    class, dates …) as it was at issue, so a reprint prints the same text even after the
    record changed. `code` is the public verification code (random, unambiguous
    alphabet). Schema: each school's own. PII: the frozen values (name, birth date, ID
    number)."""

    class State(models.TextChoices):
        ISSUED = "issued", "有效"
        VOID = "void", "已作废"

    kind = models.CharField("证书类型", max_length=12, choices=Kind.choices)
    number = models.CharField("证书编号", max_length=40)
    code = models.CharField("验证码", max_length=12, unique=True)
    # The registry's student, by its stable identifier (no foreign key into the
    # registry's tables: reports writes nothing of theirs, deletes included).
    student_identifier = models.UUIDField(db_index=True)
    purpose = models.CharField("用途", max_length=100, blank=True)
    values = models.JSONField(default=dict)
    state = models.CharField(max_length=8, choices=State.choices, default=State.ISSUED)
    issued_by = models.CharField(max_length=200)
    issued_at = models.DateTimeField(auto_now_add=True)
    void_reason = models.CharField("作废原因", max_length=200, blank=True)
    voided_by = models.CharField(max_length=200, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    reprint_count = models.PositiveSmallIntegerField("补打次数", default=0)

    class Meta:
        verbose_name = "证书"
        verbose_name_plural = "证书"
        ordering = ["-issued_at", "-id"]
        constraints = [
            # Each kind is its own series (学籍证明 and 毕业证书 may both start at the
            # school code + year + 0001); within a kind a number exists once.
            models.UniqueConstraint(fields=["kind", "number"], name="reports_cert_number_unique"),
            # One valid 毕业证书 (and 结业证明) per pupil: the database refuses a second
            # even when two issues race; a void one does not count.
            models.UniqueConstraint(
                fields=["student_identifier", "kind"],
                condition=models.Q(state="issued")
                & (models.Q(kind="diploma") | models.Q(kind="completion")),
                name="reports_cert_one_valid_diploma",
            ),
        ]

    def __str__(self) -> str:
        return self.number
