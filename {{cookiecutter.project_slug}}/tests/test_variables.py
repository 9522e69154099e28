"""Every `MLOPS_*` variable has one home (`variables.py`), and the ones users set are documented."""

from __future__ import annotations

import re

from {{ cookiecutter.package_name }} import variables

from .project import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "src" / variables.__name__.split(".")[0]
README = PROJECT_ROOT / "README.md"
SPELLED = re.compile(r"""["']MLOPS_[A-Z_]+["']""")


def test_every_variable_users_set_is_in_the_readme_table():
    table = README.read_text(encoding="utf-8")
    assert [v for v in variables.SET_BY_USERS if f"| `{v}` |" not in table] == []


def test_no_module_spells_a_variable_itself():
    spelled = [
        f"{path.name}: {match.group(0)}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "variables.py"
        for match in SPELLED.finditer(path.read_text(encoding="utf-8"))
    ]
    assert spelled == []
    assert SPELLED.search('os.environ.get("MLOPS_NEW")'), "the scan would see one"
