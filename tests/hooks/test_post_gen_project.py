"""The post-generation hook prunes unselected options and prints the next steps."""

from ..bakery import bake


def test_next_steps_name_the_project_and_the_runner_label(tmp_path, capfd):
    bake(tmp_path, project_name="Pricing", runner_label="office-pc", tunnel="none")
    out = capfd.readouterr().out
    assert "Created pricing." in out
    assert "cd pricing" in out and "uv run mlops demo" in out
    assert "runner labelled 'office-pc'" in out


def test_a_missing_csv_is_explained_not_fatal(tmp_path, capfd):
    bake_ = bake(tmp_path, dataset="nowhere/sales.csv", target_column="amount_band")
    out = capfd.readouterr().out
    assert "copy your CSV to data/sales.csv" in out
    assert 'source = "data/sales.csv"' in bake_.read("mlops.toml")
    assert not (bake_.path / "data" / "sales.csv").exists()
