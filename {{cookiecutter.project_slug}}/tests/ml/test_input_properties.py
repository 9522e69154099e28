"""Property: bad settings and bad command-line values end in one line of bad input (exit 2),
never a traceback. Hypothesis edits the project's own `mlops.toml` and draws `--set` values."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.ml.model import parse_overrides
from {{ cookiecutter.package_name }}.ml.training import fit_candidate
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.settings import load_settings

from ..central_pc_fixtures import write_config
from ..project import PLATFORM_CONFIG

TEXT = PLATFORM_CONFIG.read_text(encoding="utf-8")
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


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]
"""What editors save: UTF-8, with Notepad's byte-order mark, UTF-16, the Windows code pages."""


@given(text=edited_settings(), encoding=st.sampled_from(ENCODINGS),
       note=st.sampled_from(["", "# café, naïve, 5 €\n"]))  # fmt: skip
@EXAMPLES
def test_any_edit_of_the_settings_loads_or_is_one_line(tmp_path_factory, text, encoding, note):
    path = tmp_path_factory.mktemp("config") / "mlops.toml"
    path.write_bytes((note + text).encode(encoding, errors="replace"))
    try:
        loaded = load_settings(path)
    except BadInput as refusal:
        assert str(refusal) and "\n" not in str(refusal)
        loaded = None
    if encoding in ("utf-8", "utf-8-sig"):  # the same file, with or without a BOM
        path.write_text(note + text, encoding="utf-8")
        try:
            assert load_settings(path) == loaded
        except BadInput:
            assert loaded is None


@pytest.fixture(scope="module")
def split(platform_settings):
    return load_split(platform_settings)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # max_iter=0 is fine
@given(name=st.sampled_from(["C", "alpha", "max_iter", "solver", "tol", "nope"]),
       value=st.sampled_from(LITERALS) | st.text(max_size=8))  # fmt: skip
@EXAMPLES
def test_any_set_value_fits_or_is_one_line(platform_settings, split, name, value):
    try:
        fit_candidate(platform_settings, split, parse_overrides([f"{name}={value}"]))
    except BadInput as refusal:
        assert str(refusal) and "\n" not in str(refusal)


ODD_ARGUMENTS = ["nan", "inf", "-0", "1" * 30, "../..", "/", "/dev/null", "a b", "--dry-run", "é"]
ARGUMENTS = st.sampled_from([*LITERALS, *ODD_ARGUMENTS, "x\x00y"]) | st.text(max_size=12)
VERBS = {  # the verbs that only talk to the server or the data dir: none of them may start one
    ("register-challenger",): ["--min-value", "--git-commit", "--dry-run"],
    ("promote",): ["--dry-run"],
    ("rollback",): ["--dry-run"],
    ("status",): [],
    ("server", "backup"): ["--to", "--keep"],
    ("server", "restore"): ["", "--data-dir"],
    ("server", "gc"): ["--older-than-days", "--apply"],
    ("server", "migrate"): [""],
    ("server", "remove-user"): [""],
}


@st.composite
def command_lines(draw) -> list[str]:
    verb = draw(st.sampled_from(sorted(VERBS)))
    argv = list(verb)
    for option in draw(st.lists(st.sampled_from(VERBS[verb] or [""]), max_size=3)):
        if option in ("--dry-run", "--apply"):
            argv.append(option)
        else:
            argv += [option, draw(ARGUMENTS)] if option else [draw(ARGUMENTS)]
    return argv


@pytest.fixture(scope="module")
def unreachable_config(tmp_path_factory):
    """A project whose server is down and whose data dir is empty: every verb must say so."""
    folder = tmp_path_factory.mktemp("down")
    return write_config(folder, uri=f"http://127.0.0.1:{free_port()}",
                        data_dir=str(folder / "data"), backup_dir=str(folder / "bk"))  # fmt: skip


@given(argv=command_lines())
@EXAMPLES
def test_any_command_line_is_done_or_one_line(unreachable_config, monkeypatch, capsys, argv):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-password")
    code = main(["--config", str(unreachable_config), *argv])
    err = capsys.readouterr().err.strip()
    assert code in (0, 2, 3), err
    if code:
        assert len(err.splitlines()) == 1 and err.startswith("mlops: "), err


VARIABLES = {  # what a user may set, and values a shell or a typo gives them
    "MLFLOW_TRACKING_URI": ["", "not-a-url", "ftp://host", "http://", "127.0.0.1:5000"],
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": ["", "-3", "two", "1.5", "99999999999999999999"],
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": ["", "-1", "x", "nan"],
    "MLFLOW_HTTP_REQUEST_TIMEOUT": ["", "0", "abc", "-5", "1e3"],
    "MLOPS_CONFIG": ["/", "/nonexistent/mlops.toml", "/dev/null"],
    "MLOPS_PENDING_DIR": ["/dev/null", "/proc/nope"],
    "MLOPS_MODEL_CACHE": ["/dev/null", "/proc/nope"],
    "MLOPS_PROGRESS": ["banana", ""],
}


@given(
    variables=st.dictionaries(
        st.sampled_from(sorted(VARIABLES)), st.text(max_size=0), min_size=1, max_size=3
    ).flatmap(
        lambda chosen: st.fixed_dictionaries(
            {name: st.sampled_from(VARIABLES[name]) for name in chosen}
        )
    ),
    verb=st.sampled_from([["status"], ["promote", "--dry-run"], ["train"], ["upload-pending"]]),
)
@EXAMPLES
def test_any_malformed_variable_is_one_line(unreachable_config, monkeypatch, capsys, variables,
                                            verb):  # fmt: skip
    """Environment variables, as a shell or a typo sets them: exit 2 (or 3 for the server that
    is down), one line, never a traceback."""
    monkeypatch.setenv("MLOPS_CONFIG", str(unreachable_config))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code = main(verb)
    err = capsys.readouterr().err.strip()
    done = (0,) if verb == ["upload-pending"] else ()  # nothing to upload needs no server
    assert code in (*done, 2, 3), err
    if code:
        assert len(err.splitlines()) == 1 and err.startswith("mlops: "), err
