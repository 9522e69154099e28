"""Bad data is refused before anything is fitted, in one line that names the column and the fix.

Each case is a CSV a newcomer could bring; `mlops train` must end in exit 2 and one line, never
a scikit-learn traceback or a parameter error.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import doctor
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.ml.data_checks import min_class_rows

from ..central_pc_fixtures import write_config
from ..mixed_data import ID_COLUMN, TARGET, mixed_frame


def classification_only(settings):
    if settings.task != "classification":
        pytest.skip("a classification case")


def spoil_target_missing(frame, settings):
    frame.loc[[3, 7], TARGET] = np.nan
    return frame, "is empty in 2 rows"


def spoil_rare_class(frame, settings):
    classification_only(settings)
    frame.loc[:2, TARGET] = "maybe"
    return frame, r"class 'maybe' of target 'outcome' has 3 rows; .* need at least \d+ per class"


def spoil_one_class(frame, settings):
    classification_only(settings)
    frame[TARGET] = "yes"
    return frame, "has one class only"


def spoil_wrong_kind(frame, settings):
    if settings.task == "classification":
        frame[TARGET] = np.linspace(0.5, 99.5, len(frame))
        return frame, "regression target"
    frame[TARGET] = np.where(frame.index % 2, "up", "down")
    return frame, "is not numeric"


def spoil_empty_column(frame, settings):
    frame["notes"] = np.nan
    return frame, "column 'notes' is empty in every row: list it in \\[data\\] drop"


def spoil_constant_column(frame, settings):
    frame["country"] = "NL"
    return frame, "column 'country' has the same value in every row"


def spoil_id_as_category(frame, settings):
    return frame, r"column 'customer_id' looks like a row id .* add id = \['customer_id'\]"


def spoil_dates(frame, settings):
    frame["signup"] = [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(len(frame))]
    return frame, "column 'signup' holds dates"


def spoil_too_few_rows(frame, settings):
    return frame.head(5), "has 5 rows: at least 20"


def spoil_header_only(frame, settings):
    return frame.head(0), "has 0 rows"


SPOILERS = [
    spoil_target_missing, spoil_rare_class, spoil_one_class, spoil_wrong_kind,
    spoil_empty_column, spoil_constant_column, spoil_id_as_category, spoil_dates,
    spoil_too_few_rows, spoil_header_only,
]  # fmt: skip


def with_csv(settings, folder, frame, drop=(), id=()):
    path = folder / "data.csv"
    frame.to_csv(path, index=False)
    return settings.replace("data", source=str(path), target=TARGET, drop=list(drop), id=list(id))


@pytest.mark.parametrize("spoil", SPOILERS, ids=lambda f: f.__name__.removeprefix("spoil_"))
def test_bad_data_is_one_precise_line(platform_settings, tmp_path, spoil):
    frame, expected = spoil(mixed_frame(platform_settings.task), platform_settings)
    keep_id = spoil is spoil_id_as_category
    settings = with_csv(platform_settings, tmp_path, frame, drop=() if keep_id else [ID_COLUMN])
    with pytest.raises(BadInput, match=expected) as caught:
        load_split(settings)
    assert len(str(caught.value).splitlines()) == 1


def test_the_clean_mixed_csv_passes(platform_settings, tmp_path):
    frame = mixed_frame(platform_settings.task)
    split = load_split(with_csv(platform_settings, tmp_path, frame, drop=[ID_COLUMN]))
    assert ID_COLUMN not in split.x_train.columns
    assert split.x_train["monthly_spend"].isna().any()


@pytest.mark.parametrize("key", ["drop", "categorical"])
def test_a_listed_column_must_exist(platform_settings, tmp_path, key):
    settings = with_csv(platform_settings, tmp_path, mixed_frame(platform_settings.task))
    settings = settings.replace("data", **{key: ["no_such_column"]})
    with pytest.raises(BadInput, match=f"\\[data\\] {key}: column 'no_such_column'"):
        load_split(settings)


def test_every_class_reaches_the_holdout_and_every_fold(platform_settings):
    data = platform_settings.data
    train_share = 1 - data.test_size
    assert min_class_rows(data) * train_share >= data.cv_folds


@pytest.mark.parametrize("spoil", [spoil_target_missing, spoil_dates, spoil_header_only])
def test_train_on_bad_data_exits_2_with_one_line(
    platform_settings, tmp_path, monkeypatch, capsys, spoil
):
    frame, expected = spoil(mixed_frame(platform_settings.task), platform_settings)
    frame.to_csv(tmp_path / "data.csv", index=False)
    config = write_config(
        tmp_path, source=str(tmp_path / "data.csv"), target=TARGET, drop=[ID_COLUMN]
    )
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    assert main(["train"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert re.search(expected, err) and "Traceback" not in err


def test_doctor_reports_the_data_as_train_sees_it(platform_settings, tmp_path):
    frame = mixed_frame(platform_settings.task)
    good = doctor.data_check(with_csv(platform_settings, tmp_path, frame, drop=[ID_COLUMN]))
    assert good.status == "ok" and "2 numeric and 2 categorical features" in good.detail
    frame, expected = spoil_dates(frame, platform_settings)
    [bad] = doctor.data_checks(with_csv(platform_settings, tmp_path, frame, drop=[ID_COLUMN]))
    assert bad.status == "FAIL" and bad.code == 2 and re.search(expected, bad.detail)


def test_every_data_problem_is_reported_in_one_pass(platform_settings, tmp_path, monkeypatch,
                                                     capsys):  # fmt: skip
    """The raw table with four problems: four doctor lines, and one train line naming all."""
    frame = mixed_frame(platform_settings.task)
    frame, _ = spoil_dates(frame, platform_settings)
    frame["notes"] = np.nan
    frame["country"] = "NL"
    frame["Passenger Number"] = range(1000, 1000 + len(frame))
    settings = with_csv(platform_settings, tmp_path, frame, drop=[ID_COLUMN])
    checks = list(doctor.data_checks(settings))
    assert len(checks) == 4 and all(v.status == "FAIL" for v in checks)
    assert "looks like a row id" in checks[-1].detail
    assert "id = ['Passenger Number']" in checks[-1].detail
    with pytest.raises(BadInput, match=r"^4 data problems in data\.csv: "):
        load_split(settings)


@pytest.mark.parametrize(
    ("column", "values"),
    [("passenger_id", lambda n: np.random.default_rng(1).permutation(n) + 7),
     ("row", lambda n: np.arange(n) + 1),
     ("Sample Number", lambda n: np.arange(n) * 3)],
)  # fmt: skip
def test_a_likely_row_id_is_caught_before_it_leaks(platform_settings, tmp_path, column, values):
    frame = mixed_frame(platform_settings.task)
    frame[column] = values(len(frame))
    with pytest.raises(BadInput, match=f"column '{column}' looks like a row id"):
        load_split(with_csv(platform_settings, tmp_path, frame, drop=[ID_COLUMN]))
    named = with_csv(platform_settings, tmp_path, frame, drop=[ID_COLUMN], id=[column])
    assert column not in load_split(named).x_train.columns
