"""A school's stored objects that its rows name (student photos: every model listing its
key columns in `TRANSFER_FILES`), as one ZIP for the school's backup and back again on
restore. Part of the registry's facade (shared_apps.backups calls it).

The ZIP holds each object under its key inside the school's prefix (photos/202612/
photo-<random>.jpg), so a restore into the same school or into a new one writes it at
the same key and the restored rows find it unchanged. A restore only adds objects that
are missing: an object of the live school is never overwritten (keys are unique, with
128 random bits, so equal keys are the same object).
"""

from __future__ import annotations

import zipfile
from contextlib import AbstractContextManager
from typing import IO

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage

from tenants.context import school_context


def files_guard() -> AbstractContextManager[list[tuple[str, str]]]:
    """Objects saved inside the block are deleted if it raises (photos.services)."""
    from tenant_apps.registry.photos.services import files_guard as guard

    return guard()


def files_delete(saved: list[tuple[str, str]]) -> None:
    """Remove objects a write saved that did not happen after all."""
    from tenant_apps.registry.photos.services import files_delete as delete

    delete(saved)


def _keys() -> list[str]:
    """Every key the CURRENT school's rows name, sorted, without repeats."""
    keys: set[str] = set()
    for model in apps.get_models():
        columns = tuple(getattr(model, "TRANSFER_FILES", ()))
        if not columns or model._meta.app_config.name not in settings.TENANT_APPS:
            continue
        for row in model.objects.values_list(*columns):  # type: ignore[attr-defined]
            keys.update(str(k) for k in row if k)
    return sorted(keys)


def school_files_archive(*, schema_name: str, into: IO[bytes]) -> int:
    """Write the school's objects into `into` as a ZIP; the number of objects. An object
    a row names but storage lacks is left out (nothing to keep)."""
    written = 0
    with school_context(schema_name), zipfile.ZipFile(into, "w", zipfile.ZIP_STORED) as out:
        for key in _keys():
            if not default_storage.exists(key):
                continue
            with default_storage.open(key, "rb") as f:
                out.writestr(key, f.read())
            written += 1
    return written


def school_files_restore(*, schema_name: str, archive: IO[bytes]) -> int:
    """Put the archive's objects missing from the school's storage back at their keys;
    the number written. Call inside registry.photos.services.files_guard so that a
    restore failing afterwards removes them again."""
    from tenant_apps.registry.photos.services import file_save

    written = 0
    with school_context(schema_name), zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            key = info.filename
            # Only keys a school's rows can name: never outside the prefix.
            if info.is_dir() or key.startswith("/") or ".." in key.split("/"):
                continue
            if default_storage.exists(key):
                continue
            file_save(key, zipped.read(info), exact=True)
            written += 1
    return written
