"""Bakes of every option set: exact files, no template leftovers, clean code, true values."""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest

from .bakery import DEFAULTS, TEMPLATE, TEMPLATE_PROJECT, bake, leftovers, tool
from .conftest import NAMED, OPTION_SETS

OPTION_FILES = {
    "LICENSE": lambda a: a["license"] != "Proprietary",
    "data/README.md": lambda a: a["dataset"].endswith(".csv"),
}


def expected_files(answers: dict) -> set[str]:
    """Every file of the template, named as rendered, minus the options not chosen."""
    files = set()
    for path in TEMPLATE_PROJECT.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(TEMPLATE_PROJECT).as_posix()
            files.add(relative.replace("{{cookiecutter.package_name}}", answers["package_name"]))
    files = {f for f in files if OPTION_FILES.get(f, lambda a: True)(answers)}
    files |= {"uv.lock", ".cruft.json"}  # written by the post-gen hook (the template is in git)
    if answers["dataset"].endswith(".csv"):
        files.add("data/" + answers["dataset"].replace("\\", "/").rsplit("/", 1)[-1])
    return files


@pytest.mark.parametrize("option_set", OPTION_SETS)
def test_the_bake_has_exactly_the_files_of_its_options(bakery, option_set):
    bake_ = bakery(option_set)
    assert bake_.files() == expected_files(bake_.answers)


def test_the_answers_are_kept_without_local_paths(bakery):
    bake_ = bakery("csv")
    assert bake_.answers["project_slug"] == "churn"
    assert not [key for key in bake_.answers if key.startswith("_")]
    assert set(bake_.answers) == {k for k in DEFAULTS if not k.startswith("_")}


@pytest.mark.parametrize("option_set", OPTION_SETS)
def test_no_template_syntax_is_left(bakery, option_set):
    assert leftovers(bakery(option_set)) == []


@pytest.mark.parametrize("option_set", OPTION_SETS)
def test_the_code_is_ruff_clean(bakery, option_set):
    bake_ = bakery(option_set)
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run([tool("ruff"), *args], cwd=bake_.path, capture_output=True,
                                text=True)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_answer_a_user_sees_is_rendered(bakery):
    bake_ = bakery("named")
    readme, toml = bake_.read("README.md"), bake_.read("mlops.toml")
    assert bake_.path.name == "fraud-radar-x" and bake_.package == "fraud_radar_x"
    assert NAMED["project_name"] in readme and NAMED["description"] in readme
    assert NAMED["github_owner"] in readme
    assert f'experiment = "{NAMED["experiment_name"]}"' in toml
    assert f'registered_name = "{NAMED["registered_model_name"]}"' in toml
    assert f'uri = "{NAMED["tracking_uri"]}"' in toml and "port = 5050" in toml
    assert f'domain = "{NAMED["tunnel_domain"]}"' in toml
    assert 'primary = "roc_auc"' in toml and "min_value = 0.9" in toml
    pyproject = bake_.read("pyproject.toml")
    assert 'name = "fraud-radar-x"' in pyproject and NAMED["author"] in pyproject
    assert 'license = "Apache-2.0"' in pyproject and "Ada Lovelace" in bake_.read("LICENSE")


def test_no_default_value_leaks_into_a_bake_with_other_answers(bakery):
    bake_ = bakery("named")
    defaults = ["Team Model", "team-model", "team_model", "my-team", "central-pc", "Your Name"]
    patterns = {
        value: re.compile(rf"(?<![\w./-]){re.escape(value)}(?![\w.-])") for value in defaults
    }
    for relative in bake_.files() - {"uv.lock"}:
        text = bake_.read(relative)
        for value, pattern in patterns.items():
            assert not pattern.search(text), f"{value!r} hard-coded in {relative}"
        if relative.endswith(".md"):  # the docs say the bake's own address, port included
            assert "127.0.0.1:5000" not in text, f"the default address in {relative}"


def test_python_version_sets_floor_target_and_matrix(bakery):
    bake_ = bakery("no-tunnel")
    assert 'requires-python = ">=3.10"' in bake_.read("pyproject.toml")
    assert 'target-version = "py310"' in bake_.read("pyproject.toml")
    assert '"3.10", "3.11", "3.12", "3.13"' in bake_.read(".github/workflows/ci.yml")
    assert not (bake_.path / ".python-version").exists()


def test_a_newer_floor_narrows_the_matrix(tmp_path):
    bake_ = bake(tmp_path, python_version="3.13")
    assert 'requires-python = ">=3.13"' in bake_.read("pyproject.toml")
    assert 'python: ["3.13"]' in bake_.read(".github/workflows/ci.yml")
    assert 'target-version = "py313"' in bake_.read("pyproject.toml")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Prévisions Café Ünïcode", "previsions-cafe-unicode"),
        ("A/B test: churn!", "a-b-test-churn"),
    ],
)
def test_an_accented_or_punctuated_name_still_bakes(tmp_path, name, slug):
    """The folder, repository and package names are transliterated; the name itself is kept."""
    bake_ = bake(tmp_path, project_name=name)
    assert bake_.path.name == slug and bake_.package == slug.replace("-", "_")
    assert name in bake_.read("README.md")
    result = subprocess.run([tool("ruff"), "check", "--no-cache", "."], cwd=bake_.path,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout


def test_a_missing_python_is_named_not_blamed_on_the_network(tmp_path):
    """The floor asks for a Python this machine lacks: the bake says which, and how to get it."""
    if subprocess.run([tool("uv"), "python", "find", "3.13"], capture_output=True).returncode == 0:
        pytest.skip("Python 3.13 is installed here")
    result = subprocess.run(
        [tool("cookiecutter"), "--no-input", "-o", str(tmp_path), str(TEMPLATE),
         "python_version=3.13"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "found no Python 3.13 here: `uv python install 3.13`" in result.stdout


def test_regression_bake_uses_a_regression_dataset_and_metric(bakery):
    toml = bakery("regression").read("mlops.toml")
    assert 'source = "sklearn:diabetes"' in toml and 'primary = "r2"' in toml
    assert "sklearn.linear_model.Ridge" in toml
    assert "mlops train --set alpha=0.5" in bakery("regression").read("README.md")
    assert "mlops train --set C=0.5" in bakery("default").read("README.md")


def test_the_csv_is_copied_where_the_settings_point(bakery):
    bake_ = bakery("csv")
    toml = bake_.read("mlops.toml")
    assert 'source = "data/churn.csv"' in toml and 'target = "label"' in toml
    assert bake_.read("data/churn.csv").startswith("a,b,c,label")


def test_only_the_ngrok_bake_depends_on_pyngrok(bakery):
    def requirements(option_set: str) -> str:
        project = tomllib.loads(bakery(option_set).read("pyproject.toml"))["project"]
        return " ".join([*project["dependencies"], *project["optional-dependencies"]["server"]])

    assert "pyngrok" in requirements("default")
    assert "pyngrok" not in requirements("cloudflared")


def test_every_install_can_start_the_demo_server_and_the_extra_is_the_central_pcs(bakery):
    """`mlops demo` starts the basic-auth app on any laptop; the extra holds only what the
    central PC adds (drivers, schema tools, the tunnel client), and nothing is listed twice."""
    project = tomllib.loads(bakery("default").read("pyproject.toml"))
    dependencies = project["project"]["dependencies"]
    server = project["project"]["optional-dependencies"]["server"]
    assert "mlflow[auth]>=3.17.2,<4" in dependencies
    assert not [d for d in server if "mlflow" in d or "flask" in d.lower()]
    names = [re.split(r"[\[<>=;]", d)[0] for d in dependencies + server]
    for group in project["dependency-groups"].values():
        names += [re.split(r"[\[<>=;]", d)[0] for d in group if isinstance(d, str)]
    assert len(names) == len(set(names)), "a package listed twice"


def test_the_lock_pins_one_mlflow_inside_the_tested_range(bakery):
    lock = tomllib.loads(bakery("default").read("uv.lock"))
    versions = {p["version"] for p in lock["package"] if p["name"] == "mlflow"}
    assert len(versions) == 1
    major, minor, patch = (int(part) for part in versions.pop().split(".")[:3])
    assert (3, 17, 2) <= (major, minor, patch) < (4, 0, 0)
