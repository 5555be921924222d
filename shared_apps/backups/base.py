"""What every part of backups shares: where dumps live, the messages, the error."""

from __future__ import annotations

import re
from collections.abc import Callable

from common.exceptions import ApplicationError

Progress = Callable[[int, str], None]

BACKUP_DIR = "backups"  # under the public storage prefix: platform/backups/...
FULL_DIR = "_full"  # platform/backups/_full/<time>.dump: the whole database
MSG_DUMPED = "正在导出学校数据：已导出 {mb:.1f} MB……"
MSG_STORING = "已导出 {mb:.1f} MB，正在保存备份文件……"
MSG_REINDEXED = "正在更新学生索引：{n}/{total} 名学生……"
LOCK_WAIT = "120s"  # pg_dump's and the restore's wait for table locks before giving up
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MIGRATIONS_DIFFER = "xueji-restore: django_migrations differ"
BACKUP_NEWER = "xueji-restore: backup is newer than the code"

MSG_NOT_FOUND = "未找到该备份。"
MSG_SCHOOL_NOT_FOUND = "未找到该学校。"
MSG_NOT_READY = "该学校尚未开通完成，无法备份。"
MSG_NO_TOOLS = (
    "找不到与数据库服务器版本（PostgreSQL {major}）一致的 pg_dump，"
    "请安装对应版本的客户端工具或设置 PG_BIN_DIR。"
)
MSG_DUMP_FAILED = "备份失败：pg_dump 未能导出数据，请联系平台运营人员。"
MSG_CHECKSUM = "备份文件校验失败（SHA-256 不一致），已停止恢复。"
MSG_FOREIGN_SCHEMA = "备份文件中包含其他学校的数据，已停止恢复。"
MSG_RESTORE_FAILED = "恢复失败，数据未作任何改动。请联系平台运营人员。"
MSG_MIGRATIONS_DIFFER = (
    "备份时的数据库结构与当前版本不一致，不能覆盖恢复到本校；请改为“恢复为新学校（供核查）”。"
)
MSG_BACKUP_NEWER = "备份来自更新版本的系统，当前版本无法恢复。"
MSG_TARGET = "恢复目标只能是“本校”或“新学校”。"
MSG_NEW_FIELDS = "恢复为新学校时须填写新学校的标识码、域名前缀和名称。"
MSG_CONFIRM_CODE = "请输入本校的学校标识码以确认恢复；恢复会用备份覆盖本校当前的全部数据。"


class BackupError(ApplicationError):
    """A dump or restore step failed; `message` is for the user, details go to the log."""
