from __future__ import annotations

from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Actor:
    """Who performs a write, as plain values that survive a schema switch."""

    username: str
    name: str
    schema: str

    @property
    def label(self) -> str:
        return f"{self.name}（{self.username}）"

    @classmethod
    def of(cls, user: object) -> Actor:
        return cls(
            username=str(getattr(user, "username", "")),
            name=str(getattr(user, "full_name", "") or getattr(user, "username", "")),
            schema=str(connection.schema_name),
        )
