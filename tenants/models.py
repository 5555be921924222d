from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class SchoolQuerySet(models.QuerySet["School"]):
    def schools(self) -> SchoolQuerySet:
        """Real schools only: never the public row nor the clone template."""
        return self.filter(kind=School.Kind.SCHOOL)

    def serving(self) -> SchoolQuerySet:
        """Schools whose schema exists and that are open; the set every fan-out uses."""
        return self.schools().filter(
            provisioning=School.Provisioning.READY, status=School.Status.ACTIVE
        )

    def under(self, prefix: str) -> SchoolQuerySet:
        """Schools whose county code starts with a region's significant digits."""
        return self.schools().filter(county__code__startswith=prefix)


class School(TenantMixin):
    """A school and its PostgreSQL schema. Schema: public. No student data here.
    Two non-school rows share the table (kind PUBLIC for the bureau host, kind TEMPLATE
    for the empty schema new schools are cloned from); `School.objects.schools()` hides
    them. Written by tenants.services only.
    """

    class Kind(models.TextChoices):
        SCHOOL = "school", "学校"
        PUBLIC = "public", "平台"
        TEMPLATE = "template", "模板"

    class Stage(models.TextChoices):
        PRIMARY = "primary", "小学"
        JUNIOR = "junior", "初中"
        SENIOR = "senior", "高中"

    class Status(models.TextChoices):
        ACTIVE = "active", "正常"
        SUSPENDED = "suspended", "已停用"

    class Provisioning(models.TextChoices):
        PENDING = "pending", "开通中"
        READY = "ready", "已开通"
        FAILED = "failed", "开通失败"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCHOOL)
    name = models.CharField("学校名称", max_length=100)
    code = models.CharField("学校标识码", max_length=10, unique=True, null=True, blank=True)
    slug = models.SlugField("域名前缀", max_length=40, unique=True, null=True, blank=True)
    stages = ArrayField(
        models.CharField(max_length=10, choices=Stage.choices), default=list, blank=True
    )
    county = models.ForeignKey(
        "regions.Region",
        verbose_name="所在县（市、区）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="schools",
    )
    address = models.CharField("地址", max_length=200, blank=True)
    principal = models.CharField("校长", max_length=50, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    provisioning = models.CharField(
        "开通状态", max_length=10, choices=Provisioning.choices, default=Provisioning.PENDING
    )
    # The first administrator waits here (username, name, password hash only) until the
    # schema exists; provisioning creates the account and clears the field.
    pending_admin = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are created by tenants.services.school_provision, never as a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False

    objects = SchoolQuerySet.as_manager()

    class Meta:
        verbose_name = "学校"
        verbose_name_plural = "学校"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def stage_labels(self) -> str:
        labels = dict(self.Stage.choices)
        return "、".join(labels.get(s, s) for s in self.stages)


class Domain(DomainMixin):
    """A host name that routes to a school (or to the public site). Schema: public."""

    class Meta:
        verbose_name = "域名"
        verbose_name_plural = "域名"


class SchoolStats(models.Model):
    """Pre-aggregated counts of one school for the bureau dashboard. Schema: public.
    Non-identifying numbers only. Written by tenants.services.school_stats_refresh,
    which runs inside the school's schema.
    """

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="stats")
    students = models.PositiveIntegerField(default=0)
    classes = models.PositiveIntegerField(default=0)
    male = models.PositiveIntegerField(default=0)
    female = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = "学校统计"
        verbose_name_plural = "学校统计"
