import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.ml.data import load_split

from ..project import with_changes


def test_the_split_is_seeded(platform_settings):
    first, second = load_split(platform_settings), load_split(platform_settings)
    pd.testing.assert_frame_equal(first.x_test, second.x_test)


def test_another_seed_gives_another_holdout(platform_settings):
    other = with_changes(platform_settings, data={"seed": platform_settings.data.seed + 1})
    assert not load_split(other).x_test.index.equals(load_split(platform_settings).x_test.index)


def test_the_holdout_has_the_configured_share(platform_settings):
    split = load_split(platform_settings)
    share = len(split.x_test) / (len(split.x_test) + len(split.x_train))
    assert share == pytest.approx(platform_settings.data.test_size, abs=0.04)  # row hashes
    assert split.target not in split.x_train.columns


def test_a_csv_without_the_target_column_is_rejected(platform_settings, tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    settings = with_changes(platform_settings, data={"source": str(tmp_path / "d.csv")})
    with pytest.raises(BadInput, match=r"not in d\.csv"):
        load_split(settings)


def test_a_missing_csv_is_rejected(platform_settings, tmp_path):
    settings = with_changes(platform_settings, data={"source": str(tmp_path / "none.csv")})
    with pytest.raises(BadInput, match="does not exist"):
        load_split(settings)


def test_a_csv_dataset_loads_and_splits(platform_settings, tmp_path):
    split = load_split(platform_settings)
    frame = split.x_train.assign(label=split.y_train.to_numpy())
    frame.to_csv(tmp_path / "train.csv", index=False)
    settings = with_changes(  # the team's drop/id/categorical name its columns, not these
        platform_settings,
        data={"source": str(tmp_path / "train.csv"), "target": "label", "drop": [], "id": [],
              "categorical": []},
    )  # fmt: skip
    loaded = load_split(settings)
    assert len(loaded.x_train) + len(loaded.x_test) == len(frame)
    assert loaded.source == str(tmp_path / "train.csv")
