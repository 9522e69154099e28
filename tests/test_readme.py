"""The README tells the truth about the template."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .bakery import TEMPLATE

sys.path.insert(0, str(TEMPLATE / "tools"))
from options_table import options_table

README = (TEMPLATE / "README.md").read_text(encoding="utf-8")


def test_the_options_table_matches_cookiecutter_json():
    block = README.split("<!-- options:start -->", 1)[1].split("<!-- options:end -->", 1)[0]
    assert block.strip() == options_table()


def test_ci_runs_exactly_the_readme_test_command():
    tests_section = README.split("## Tests", 1)[1]
    command = re.search(r"```bash\n(.+?)\n```", tests_section, re.S).group(1).strip()
    ci_lines = [
        line for line in Path(TEMPLATE / ".ci/run").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith(("#", "set ", "cd ", "python3 ", "PATH=", "export "))
    ]  # fmt: skip
    assert ci_lines == [command]
