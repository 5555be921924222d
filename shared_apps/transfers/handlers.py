"""Completion handlers and detail lines of the transfer kinds (registered at start-up)."""

from __future__ import annotations

from shared_apps.transfers.transfer import register

register()
