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


class SchoolType(models.TextChoices):
    """办学类型 (JY/T 1001 学校办学类型代码), the K-12 and special-education part."""

    PRIMARY = "211", "小学"
    TEACHING_POINT = "218", "小学教学点"
    ATTACHED_PRIMARY = "219", "附设小学班"
    JUNIOR = "311", "初级中学"
    NINE_YEAR = "312", "九年一贯制学校"
    ATTACHED_JUNIOR = "319", "附设普通初中班"
    COMPLETE = "341", "完全中学"
    SENIOR = "342", "高级中学"
    TWELVE_YEAR = "345", "十二年一贯制学校"
    ATTACHED_SENIOR = "349", "附设普通高中班"
    BLIND = "511", "盲人学校"
    DEAF = "512", "聋人学校"
    INTELLECTUAL = "513", "培智学校"
    OTHER_SPECIAL = "514", "其他特教学校"


class Sponsor(models.TextChoices):
    """举办者 (学校举办者类型). Codes are ours; the labels follow the statistics forms."""

    COUNTY_EDUCATION = "41", "县级教育部门"
    COUNTY_OTHER = "42", "县级其他部门"
    CITY_EDUCATION = "31", "地级教育部门"
    CITY_OTHER = "32", "地级其他部门"
    PROVINCE_EDUCATION = "21", "省级教育部门"
    PROVINCE_OTHER = "22", "省级其他部门"
    CENTRAL = "11", "中央部门"
    ENTERPRISE = "51", "地方企业"
    INSTITUTION = "52", "事业单位"
    MILITARY = "53", "部队"
    COLLECTIVE = "54", "集体"
    PRIVATE = "61", "民办（社会力量）"
    OTHER = "99", "其他"


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
    # The school's own profile (学校(机构)基础信息, domain.md §2.1), kept on this public
    # row so the bureau reads the current values; written by
    # tenants.services.school_profile_update from the school's host. Name, code, stages
    # and county above stay the bureau's.
    location_code = models.CharField("所在地行政区划代码", max_length=12, blank=True)
    postcode = models.CharField("邮政编码", max_length=6, blank=True)
    school_type = models.CharField("办学类型", max_length=3, choices=SchoolType.choices, blank=True)
    sponsor = models.CharField("举办者", max_length=2, choices=Sponsor.choices, blank=True)
    email = models.EmailField("电子信箱", max_length=100, blank=True)
    website = models.CharField("学校网址", max_length=200, blank=True)
    intro = models.TextField("学校简介", max_length=2000, blank=True)
    # Set whenever the school administrator saves (or confirms) the profile: the
    # start-of-year checklist's "学校信息已核对".
    profile_reviewed_at = models.DateTimeField("学校信息核对时间", null=True, blank=True)
    profile_reviewed_by = models.CharField("核对人", max_length=80, blank=True)
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


class Campus(models.Model):
    """A campus (校区) of a school, part of its profile. Schema: public (with the school
    row, so the bureau sees it). No PII. Written by tenants.services.school_profile_update,
    which replaces a school's campuses as one list."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="campuses")
    name = models.CharField("校区名称", max_length=60)
    address = models.CharField("校区地址", max_length=200, blank=True)
    phone = models.CharField("校区电话", max_length=20, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "校区"
        verbose_name_plural = "校区"
        ordering = ["school", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="tenants_campus_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


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
    # Records not yet registered (draft, under audit, 问题学籍): never in `students`
    # (在读, tenant_apps.registry.counts), shown apart and labelled.
    pending = models.PositiveIntegerField("未注册", default=0)

    class Meta:
        verbose_name = "学校统计"
        verbose_name_plural = "学校统计"
