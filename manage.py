#!/usr/bin/env python
"""Django's command-line utility. `platform/` holds the `config` package (see README)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# platform/ is a plain folder, never a package: adding it to the path keeps Python's own
# `platform` module importable while `config` becomes importable.
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
