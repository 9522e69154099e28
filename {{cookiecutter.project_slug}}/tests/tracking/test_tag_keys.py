"""Every tag key has one home (`tag_keys.py`) and one line in the docs."""

from __future__ import annotations

import re

from {{ cookiecutter.package_name }}.tracking import tag_keys

from ..project import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "src" / "{{ cookiecutter.package_name }}"
DOCS = PROJECT_ROOT / "docs" / "data-and-decisions.md"
TAG_LITERAL = re.compile(r"""["'](?:mlops|mlflow)\.(?!(?:toml|db)["'])[a-z_.]+["']""")
"""A quoted `mlops.x` / `mlflow.x` that is not a file name (mlops.toml, mlflow.db)."""


def keys() -> dict[str, str]:
    return {name: value for name, value in vars(tag_keys).items() if name.endswith("_TAG")}


def test_every_tag_key_is_documented():
    documented = DOCS.read_text(encoding="utf-8")
    missing = [value for value in keys().values() if f"`{value}`" not in documented
               and value not in documented]  # fmt: skip
    assert not missing
    assert "`mlops.metric.<name>`" in documented and "`mlops.promotion.<name>`" in documented


def test_no_module_spells_a_tag_key_itself():
    spelled = [
        f"{path.relative_to(PACKAGE)}: {match.group(0)}"
        for path in sorted(PACKAGE.rglob("*.py"))  # every room
        if path.name != "tag_keys.py"
        for match in TAG_LITERAL.finditer(path.read_text(encoding="utf-8"))
    ]
    assert spelled == []


def test_the_scan_walks_every_room():
    assert {"ml", "tracking", "experiments", "registry", "central_pc"} <= {
        path.parent.name for path in PACKAGE.rglob("*.py")
    }


def test_the_scan_would_see_a_spelled_key():
    assert TAG_LITERAL.search('tags["mlops.trial"]') and TAG_LITERAL.search("'mlflow.user'")
    assert not TAG_LITERAL.search('"mlops.toml"') and not TAG_LITERAL.search('"mlflow.db"')
