"""The scan that keeps outputs, credentials and tunnel URLs out of committed notebooks."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from {{ cookiecutter.package_name }}.experiments.leaks import main, scan_notebook, scan_text

from ..project import PROJECT_ROOT

# Built at run time, so no scanner (ours or GitHub's) ever sees a token-shaped literal here.
FAKE = "x" * 36
LEAKS = {
    "ngrok free app": ("uri = 'https://team-pc.ngrok-free.app'", "ngrok"),
    "ngrok free dev": ("see https://team-pc.ngrok-free.dev/#/experiments", "ngrok"),
    "ngrok paid": ("MLFLOW_TRACKING_URI=https://team.ngrok.app", "ngrok"),
    "quick tunnel": ("https://words-like-these.trycloudflare.com", "Cloudflare"),
    "user:pass@": (f"https://alice:{FAKE}@example.org/mlflow", "password in a URL"),
    "classic token": (f"header = 'ghp_{FAKE}'", "GitHub token"),
    "fine-grained token": (f"github_pat_{FAKE}_{FAKE}", "GitHub token"),
}
HARDCODED = {  # ruff's S105-S107 find these; the project's ruff settings turn them on
    "password variable": f"MLFLOW_TRACKING_PASSWORD = '{FAKE}'",
    "token variable": 'GITHUB_TOKEN: str = "abc123"',
    "environ item": 'os.environ["MLFLOW_TRACKING_PASSWORD"] = "p4ss"',
    "keyword argument": 'login(user="me", password="letmein")',
}
RUFF = str(Path(sys.executable).with_name("ruff"))
HARMLESS = [
    'token = userdata.get("GITHUB_TOKEN")',
    'PASSWORD = os.environ["MLFLOW_TRACKING_PASSWORD"]',
    'token = ""',
    'if password == "": ask()',
    "the tunnel's address, from the team (`https://...`)",
    'auth = ["-c", f"http.extraheader=Authorization: Basic {basic}"]',
    "http://127.0.0.1:5000/#/experiments/1",
]


@pytest.mark.parametrize("text, kind", LEAKS.values(), ids=LEAKS)
def test_each_leak_is_found_in_a_cell(text, kind):
    notebook = new_notebook(cells=[new_markdown_cell("# title"), new_code_cell(text)])
    findings = scan_notebook(notebook, "nb")
    assert len(findings) == 1 and kind in findings[0].what
    assert findings[0].where == "nb cell 2"


@pytest.mark.parametrize("text", HARMLESS)
def test_code_that_reads_secrets_is_not_a_leak(text):
    assert scan_text(text, "cell") == []


def hardcoded_credentials_ruff_finds(tmp_path, text: str) -> list[str]:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(new_notebook(cells=[new_code_cell(text)])), encoding="utf-8")
    result = subprocess.run(
        [RUFF, "check", "--no-cache", "--output-format", "concise", "--config",
         str(PROJECT_ROOT / "pyproject.toml"), str(path)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    return re.findall(r"\b(S10[5-7])\b", result.stdout)


@pytest.mark.parametrize("text", HARDCODED.values(), ids=HARDCODED)
def test_a_credential_written_in_a_cell_fails_the_projects_ruff(tmp_path, text):
    assert hardcoded_credentials_ruff_finds(tmp_path, text)


@pytest.mark.parametrize("text", HARMLESS[:4])
def test_code_that_reads_secrets_passes_the_projects_ruff(tmp_path, text):
    assert hardcoded_credentials_ruff_finds(tmp_path, text) == []


def test_outputs_and_execution_counts_are_found():
    cell = new_code_cell("print(1)", execution_count=3)
    cell.outputs = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    found = [finding.what for finding in scan_notebook(new_notebook(cells=[cell]))]
    assert found == ["has outputs (run nbstripout)", "has an execution count (run nbstripout)"]


def test_a_leak_in_an_output_is_found_too():
    cell = new_code_cell("print(uri)")
    cell.outputs = [{"output_type": "stream", "name": "stdout", "text": "https://a.ngrok-free.app"}]
    found = [finding.what for finding in scan_notebook(new_notebook(cells=[cell]))]
    assert "an ngrok tunnel URL" in found


def test_the_hook_fails_on_a_leaky_file_and_passes_a_clean_one(tmp_path, capsys):
    leaky, clean = tmp_path / "leaky.ipynb", tmp_path / "clean.ipynb"
    leaky.write_text(json.dumps(new_notebook(cells=[new_code_cell(LEAKS["user:pass@"][0])])))
    clean.write_text(json.dumps(new_notebook(cells=[new_code_cell("x = 1")])))
    assert main([str(clean)]) == 0
    assert main([str(clean), str(leaky)]) == 1
    assert "leaky.ipynb cell 1: a password in a URL" in capsys.readouterr().err
