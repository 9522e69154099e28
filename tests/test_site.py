"""The documentation sites build with `mkdocs build --strict`: the template's own, and the one
rendered into every bake of the test matrix (a broken link, a missing page or a YAML error in
a rendered `mkdocs.yml` fails here)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .bakery import TEMPLATE, bake, tool
from .conftest import OPTION_SETS


def strict_build(config: Path, site: Path) -> str:
    result = subprocess.run(
        [tool("mkdocs"), "build", "--strict", "-f", str(config), "--site-dir", str(site)],
        capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("NO_MKDOCS")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    noise = [line for line in result.stderr.splitlines() if not line.startswith("INFO")]
    assert noise == [], "nothing a reader cannot act on:\n" + "\n".join(noise)
    return (site / "index.html").read_text(encoding="utf-8")


def test_the_template_site_builds_and_shows_the_readme(tmp_path):
    home = strict_build(TEMPLATE / "mkdocs.yml", tmp_path)
    assert "Quick start" in home and "<table>" in home, "the options table is on the home page"


@pytest.mark.parametrize("option_set", OPTION_SETS)
def test_every_bake_site_builds(bakery, option_set, tmp_path):
    project = bakery(option_set)
    home = strict_build(project.path / "mkdocs.yml", tmp_path)
    assert project.answers["project_name"] in home


@pytest.mark.parametrize("name", ["A/B test: churn!", 'Quote "Model" & Co'])
def test_a_name_with_yaml_punctuation_still_builds(tmp_path, name):
    project = bake(tmp_path / "bake", project_name=name)
    strict_build(project.path / "mkdocs.yml", tmp_path / "site")
