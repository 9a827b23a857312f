"""schemad.connection.driver: asyncmy without importlib.metadata, reporting the version asyncmy would."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys


def test_driver_reports_installed_version_without_importlib_metadata() -> None:
    code = (
        "import sys; import schemad.connection.driver as d; "
        "print(sys.modules['asyncmy.version'].__VERSION__); "
        "print('importlib.metadata' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [importlib.metadata.version("asyncmy"), "False"]
