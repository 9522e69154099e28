"""The generated project's own test suite passes in its own uv environment."""

from __future__ import annotations

import pytest

from .bakery import tool

# The central PC's tests do not depend on the task: the regression bake skips them.
SELECTIONS = {"default": [], "regression": ["-m", "not central_pc"]}


@pytest.mark.slow
@pytest.mark.parametrize("option_set", SELECTIONS)
def test_the_generated_tests_pass(bakery, option_set):
    bake_ = bakery(option_set)
    bake_.sync()
    result = bake_.run(tool("uv"), "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider",
                       *SELECTIONS[option_set], check=False, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
