import os
import re
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.choices import METRIC_RANGES
from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.settings import find_config, load_settings

from .project import PLATFORM_CONFIG


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlops.toml"
    path.write_text(text, encoding="utf-8")
    return path


def valid_text() -> str:
    return PLATFORM_CONFIG.read_text(encoding="utf-8")


def test_relative_paths_resolve_from_the_files_folder(tmp_path):
    settings = load_settings(write(tmp_path, valid_text()))
    assert settings.resolve("data/x.csv") == tmp_path / "data/x.csv"


def test_environment_overrides_the_file_and_the_flag_overrides_both(tmp_path, monkeypatch):
    path = write(tmp_path, valid_text())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert load_settings(path).tracking_uri == "http://127.0.0.1:5999"
    assert load_settings(path, "http://127.0.0.1:6000").tracking_uri == "http://127.0.0.1:6000"


def test_the_uri_is_resolved_once_and_a_replaced_one_is_used(tmp_path, monkeypatch):
    """The variable is read when the settings are loaded, never behind a copy's back, and
    loading writes nothing into the environment."""
    path = write(tmp_path, valid_text())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    settings = load_settings(path, "http://127.0.0.1:6000")
    aimed = settings.replace("tracking", uri="http://127.0.0.1:6001")
    assert aimed.tracking_uri == "http://127.0.0.1:6001"
    assert os.environ["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5999"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5998")
    assert settings.tracking_uri == "http://127.0.0.1:6000"


def test_find_config_walks_up_and_honours_the_variable(tmp_path, monkeypatch):
    path = write(tmp_path, valid_text())
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.delenv("MLOPS_CONFIG", raising=False)
    assert find_config(tmp_path / "a" / "b") == path
    monkeypatch.setenv("MLOPS_CONFIG", str(path))
    assert find_config(Path("/")) == path


def swap(old: str, new: str):
    """A change of the file that fails loudly when `old` is not in it (no test by accident)."""

    def change(text: str) -> str:
        assert old in text, f"{old!r} is not in mlops.toml"
        return text.replace(old, new, 1)

    return change


def setting(key: str, value: str):
    """`key = value` on the key's first line, whatever value it holds."""
    line = re.compile(rf"(?m)^{re.escape(key)} = [^#\n]*")

    def change(text: str) -> str:
        assert line.search(text), f"no {key} = ... line in mlops.toml"
        return line.sub(lambda _: f"{key} = {value} ", text, count=1)

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t + "\n[oops\n", "not valid TOML"),
        (lambda t: t + "\n[promotion.extra]\nx = 1\n", "promotion.extra"),
        (swap("[tracking]", "[tracking]\nsurprise = 1"), "tracking.surprise"),
        (setting("primary", '"bogus"'), "is not a"),
        (setting("test_size", "2"), "data.test_size"),
        (setting("min_improvement", "-1"), "min_improvement"),
        (setting("confidence", "0.3"), "confidence of at least 0.5"),
        (setting("confidence", "1.0"), "promotion.confidence"),
        (setting("min_relative_improvement", "1.5"), "min_relative_improvement"),
        (setting("cv_folds", "1"), "data.cv_folds"),
        (setting("seed", "-1"), "data.seed"),
        (setting("uri", '"not-a-url"'), "is not the http"),
        (setting("uri", '"file:///tmp/mlruns"'), "is not the http"),
    ],
)
def test_a_malformed_file_is_one_clear_error(tmp_path, change, message):
    with pytest.raises(BadInput, match=message) as caught:
        load_settings(write(tmp_path, change(valid_text())))
    assert "\n" not in str(caught.value)


def test_a_gate_no_model_can_pass_is_refused(tmp_path, platform_settings):
    """A min_value outside the metric's range would block every promotion without a word."""
    low, high = METRIC_RANGES[platform_settings.metric.primary]
    impossible = high + 1 if high is not None else low - 1
    text = re.sub(r"(?m)^#? ?min_value = .*$", "", valid_text())
    text = text.replace("[promotion]", f"[promotion]\nmin_value = {impossible}", 1)
    with pytest.raises(BadInput, match=r"min_value = .* can never be met") as caught:
        load_settings(write(tmp_path, text))
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "mlops.toml"
    path.write_bytes(valid_text().encode("utf-8") + "# café\n".encode("latin-1"))
    with pytest.raises(BadInput, match=r"not UTF-8 text \(byte \d+\): save it as UTF-8"):
        load_settings(path)


@pytest.mark.parametrize("given", ["not-a-url", "file:///tmp/mlruns", "http://"])
def test_a_tracking_uri_that_is_no_server_is_refused(tmp_path, monkeypatch, given):
    path = write(tmp_path, valid_text())
    monkeypatch.setenv("MLFLOW_TRACKING_URI", given)
    with pytest.raises(BadInput, match=rf"^MLFLOW_TRACKING_URI = '{re.escape(given)}' is not"):
        load_settings(path)
    with pytest.raises(BadInput, match=r"^--tracking-uri = 'x' is not the http"):
        load_settings(path, "x")


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(BadInput, match="not found"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize("key", ["drop", "categorical", "id"])
def test_the_target_cannot_be_dropped_or_made_a_feature(tmp_path, platform_settings, key):
    change = setting(key, f'["{platform_settings.data.target}"]')
    with pytest.raises(BadInput, match=f"{key} lists the target column"):
        load_settings(write(tmp_path, change(valid_text())))
