"""Backup APIs. Bureau host: /api/v1/schools/<school_id>/backups/ (list, back up now) and
…/backups/restore/; school host: /api/v1/backups/ for the school's administrator.
Long work answers 202 with a job id (GET /api/v1/jobs/<id>/ for progress)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.reauth import BACKUP_RESTORE, sensitive
from common.permissions import has_right
from shared_apps.backups.selectors import backup_school, backups_of
from shared_apps.backups.services import backup_start, restore_start
from shared_apps.backups.views import BACKUP_RIGHTS, SCHOOL_BACKUP_RIGHT, who
from tenants.models import School


class BackupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    size = serializers.IntegerField(help_text="字节")
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()


class JobStarted(serializers.Serializer):
    job_id = serializers.CharField()


def _school(request: Request, school_id: int) -> School:
    school = backup_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
    if school is None:
        raise NotFound()
    return school


class SchoolBackupListCreateApi(APIView):
    """A school's backups (size and time); POST backs it up now."""

    permission_classes = [has_right(BACKUP_RIGHTS)]

    @extend_schema(responses=BackupOutput(many=True), summary="学校备份列表")
    def get(self, request: Request, school_id: int) -> Response:
        school = _school(request, school_id)
        return Response(BackupOutput(backups_of(school_id=school.pk)[:200], many=True).data)

    @extend_schema(request=None, responses={202: JobStarted}, summary="立即备份")
    def post(self, request: Request, school_id: int) -> Response:
        school = _school(request, school_id)
        job = backup_start(school=school, user_id=request.user.pk, created_by=who(request))  # type: ignore[arg-type]
        return Response({"job_id": str(job.pk)}, status=status.HTTP_202_ACCEPTED)


@sensitive(BACKUP_RESTORE)
class SchoolBackupRestoreApi(APIView):
    """Restore one of the school's backups into the school itself (`confirm_code` must be
    the school's code) or into a new, suspended school for inspection."""

    permission_classes = [has_right(BACKUP_RIGHTS)]

    class InputSerializer(serializers.Serializer):
        backup_id = serializers.IntegerField()
        target = serializers.ChoiceField(choices=[("same", "恢复到本校"), ("new", "恢复为新学校")])
        confirm_code = serializers.CharField(required=False, default="", allow_blank=True)
        new_code = serializers.CharField(required=False, default="", allow_blank=True)
        new_slug = serializers.CharField(required=False, default="", allow_blank=True)
        new_name = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(request=InputSerializer, responses={202: JobStarted}, summary="恢复备份")
    def post(self, request: Request, school_id: int) -> Response:
        school = _school(request, school_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = restore_start(school=school, user_id=request.user.pk, **data.validated_data)  # type: ignore[arg-type]
        return Response({"job_id": str(job.pk)}, status=status.HTTP_202_ACCEPTED)


class OwnBackupListCreateApi(APIView):
    """On a school's host: the school's own backups; POST backs it up now."""

    permission_classes = [has_right(SCHOOL_BACKUP_RIGHT)]

    @extend_schema(responses=BackupOutput(many=True), summary="本校备份列表")
    def get(self, request: Request) -> Response:
        school_id = request.tenant.pk  # type: ignore[attr-defined]
        return Response(BackupOutput(backups_of(school_id=school_id)[:200], many=True).data)

    @extend_schema(request=None, responses={202: JobStarted}, summary="立即备份本校")
    def post(self, request: Request) -> Response:
        job = backup_start(school=request.tenant, user_id=request.user.pk, created_by=who(request))  # type: ignore[attr-defined,arg-type]
        return Response({"job_id": str(job.pk)}, status=status.HTTP_202_ACCEPTED)
