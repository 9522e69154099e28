"""The Colab notebook: it runs headlessly against the real server, and it is safe to commit."""

import json
import subprocess
import sys

import nbformat
from mlflow import MlflowClient
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from {{ cookiecutter.package_name }}.experiments.leaks import scan_notebook
from {{ cookiecutter.package_name }}.ml.data import read_table
from {{ cookiecutter.package_name }}.tracking.tag_keys import HAS_MODEL_TAG

from ..central_pc_fixtures import write_config
from ..project import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "train_on_colab.ipynb"
TRIALS = 3


def with_parameters(notebook, **values):
    """Papermill's way: a cell right after the one tagged `parameters` overrides it."""
    index = next(
        i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])
    )
    source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    notebook.cells.insert(index + 1, new_code_cell(source))
    return notebook


def test_the_notebook_trains_and_tunes_on_the_server(settings, as_admin, tmp_path, monkeypatch):
    """Run as in Jupyter (no google.colab), on data kept out of git (`DATA_CSV`)."""
    monkeypatch.setenv("MLOPS_PENDING_DIR", str(tmp_path / "pending"))
    monkeypatch.setenv("MLOPS_CONFIG", str(write_config(tmp_path / "config", pictures=True)))
    experiment = settings.tracking.experiment
    data_csv = tmp_path / "kept-out-of-git.csv"
    _, table, _ = read_table(settings)  # as stored: the notebook's settings drop what they drop
    table.to_csv(data_csv, index=False)
    notebook = with_parameters(nbformat.read(NOTEBOOK, as_version=4), TRIALS=TRIALS,
                               EXPERIMENT=experiment, DATA_CSV=str(data_csv))  # fmt: skip
    NotebookClient(
        notebook, kernel_name="python3", timeout=600,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()  # fmt: skip

    client = MlflowClient(as_admin.url)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    runs = client.search_runs([experiment_id])
    kinds = sorted(run.data.tags["mlops.kind"] for run in runs)
    assert kinds == ["train", "trial", "trial", "trial", "tune"]
    assert {run.info.status for run in runs} == {"FINISHED"}
    [trained] = [run for run in runs if run.data.tags["mlops.kind"] == "train"]
    assert str(data_csv) in trained.inputs.dataset_inputs[0].dataset.source
    [parent] = [run for run in runs if run.data.tags["mlops.kind"] == "tune"]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId")]
    assert {run.data.tags["mlflow.parentRunId"] for run in children} == {parent.info.run_id}
    assert len(children) == TRIALS
    with_model = [run.info.run_id for run in children if run.data.tags.get(HAS_MODEL_TAG)]
    tune_models = client.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string=f"source_run_id = '{parent.data.tags['mlops.best_run_id']}'",
    )
    assert len(tune_models) == 1 and with_model == [tune_models[0].source_run_id]
    assert len(client.search_logged_models(experiment_ids=[experiment_id])) == 2  # train + tune
    printed = "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert f"{as_admin.url}/#/experiments/{experiment_id}/runs/" in printed
    assert as_admin.admin_password not in printed
    stderr = "".join(
        output["text"] for cell in notebook.cells for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    )  # fmt: skip
    assert "tune: fit" in stderr, "the tune's progress bar is shown"
    assert "Warning" not in stderr, "no warning a user cannot act on"
    shown = [
        output["data"]["image/png"] for cell in notebook.cells
        for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
    ]  # fmt: skip
    assert len(shown) == 2, "the run's and the tune's best candidate's pictures, inline"
    pictured = [run for run in runs if client.list_artifacts(run.info.run_id, "pictures")]
    assert len(pictured) == 2, "train and the tune's best child, logged with their pictures"


def test_the_committed_notebook_has_no_outputs_credentials_or_tunnel_urls():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert scan_notebook(notebook, NOTEBOOK.name) == []


def test_nbstripout_finds_nothing_to_strip():
    """The pre-commit hook must be a no-op on the committed notebook (ids included)."""
    verify = [sys.executable, "-m", "nbstripout", "--verify", str(NOTEBOOK)]
    result = subprocess.run(verify, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_colab_only_step_is_guarded_not_skipped():
    """Jupyter and VS Code run every cell (none is tagged to be skipped): the Colab-only steps
    must guard themselves; the notebook run above proves they do outside Colab."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [cell for cell in code if "skip-execution" in cell.metadata.get("tags", [])]
    [colab_only] = [cell for cell in code if "from google.colab import userdata" in cell.source]
    assert "except ImportError:" in colab_only.source
    assert "if userdata is None:" in colab_only.source
