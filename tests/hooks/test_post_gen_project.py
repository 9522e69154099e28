"""The post-generation hook prunes unselected options and prints the next steps."""

from ..bakery import bake


def test_next_steps_name_the_project_and_the_runner_label(tmp_path, capfd):
    bake(tmp_path, project_name="Pricing", runner_label="office-pc", tunnel="none")
    out = capfd.readouterr().out
    assert "Created pricing." in out
    assert "cd pricing" in out and "uv run mlops demo" in out
    assert "runner labelled 'office-pc'" in out
