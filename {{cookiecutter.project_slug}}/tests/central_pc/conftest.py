"""Every test in this folder is a test of the central PC: task-independent, so the template's
suite runs them once, and the pull-request check (`-m "not central_pc"`) leaves them to main."""

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.central_pc)
