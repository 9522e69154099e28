"""Property: bad settings and bad command-line values end in one line of bad input (exit 2),
never a traceback. Hypothesis edits the project's own `mlops.toml` and draws `--set` values."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.data import load_split
from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.model import parse_overrides
from {{ cookiecutter.package_name }}.settings import load_settings
from {{ cookiecutter.package_name }}.train import fit_candidate

from .conftest import PROJECT_ROOT

TEXT = (PROJECT_ROOT / "mlops.toml").read_text(encoding="utf-8")
KEYS = sorted(set(re.findall(r"(?m)^(\w+) = ", TEXT)))
LITERALS = [
    '""', '"x"', '"sklearn:nope"', "-1", "0", "1", "0.5", "1e400", "-1e-9", "true", "[]", "{}",
    '["a", 1]', "{ low = 1 }", '"http://user:pw@host"', '"postgresql://u:p@h/db"', "2000000",
]  # fmt: skip
EXAMPLES = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def edited_settings(draw) -> str:
    text = TEXT
    for _ in range(draw(st.integers(1, 3))):
        present = [key for key in KEYS if re.search(rf"(?m)^{key} = ", text)]
        key = draw(st.sampled_from(present))
        edit = draw(st.sampled_from(["value", "drop", "duplicate"]))
        line = re.search(rf"(?m)^{key} = .*$", text).group(0)
        if edit == "value":
            text = text.replace(line, f"{key} = {draw(st.sampled_from(LITERALS))}", 1)
        elif edit == "drop":
            text = text.replace(line, "", 1)
        else:
            text = text.replace(line, f"{line}\n{line}", 1)
    return text


@given(text=edited_settings())
@EXAMPLES
def test_any_edit_of_the_settings_loads_or_is_one_line(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("config") / "mlops.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_settings(path)
    except BadInput as refusal:
        assert str(refusal) and "\n" not in str(refusal)


@pytest.fixture(scope="module")
def split(project_settings):
    return load_split(project_settings)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # max_iter=0 is fine
@given(name=st.sampled_from(["C", "alpha", "max_iter", "solver", "tol", "nope"]),
       value=st.sampled_from(LITERALS) | st.text(max_size=8))  # fmt: skip
@EXAMPLES
def test_any_set_value_fits_or_is_one_line(project_settings, split, name, value):
    try:
        fit_candidate(project_settings, split, parse_overrides([f"{name}={value}"]))
    except BadInput as refusal:
        assert str(refusal) and "\n" not in str(refusal)
