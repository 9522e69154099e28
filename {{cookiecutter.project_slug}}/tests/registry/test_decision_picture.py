"""Every promotion decision leaves a picture: the bootstrap distribution with the bound and the
gate, champion against challenger on the holdout; refused and dry-run decisions too."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.ml.metrics import Predictions
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.registry.decision_picture import draw, text_histogram
from {{ cookiecutter.package_name }}.registry.promotion import promote
from {{ cookiecutter.package_name }}.tracking.model_registry import CHAMPION

from ..project import with_changes
from ..registry_state import aliased

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def confident(settings):
    return with_changes(settings, promotion={"min_value": None, "min_improvement": 0.0,
                                             "confidence": 0.95})  # fmt: skip


def challenger(settings, factor: float) -> str:
    name, value = next(iter(settings.model.params.items()))
    train(settings, {name: value * factor})
    return register_challenger(settings, newer_than_challenger=True, min_value=None).version


def weak(settings) -> float:
    """A factor that regularises the configured model far too much, whatever its task."""
    return {"C": 1e-4, "alpha": 1e4}[next(iter(settings.model.params))]


def test_a_promotion_draws_its_decision_and_names_the_picture_in_its_record(
    confident, as_admin, decisions_folder, tmp_path, monkeypatch
):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    challenger(confident, weak(confident))
    first = promote(confident)
    assert first.passed and first.picture.read_bytes().startswith(PNG)
    better = challenger(confident, 1)  # the configured value, far from the weak one
    verdict = promote(confident)
    assert verdict.passed and aliased(confident, CHAMPION).version == better
    assert verdict.picture.parent == decisions_folder and f"-v{better}-" in verdict.picture.name
    assert verdict.picture.read_bytes().startswith(PNG) and verdict.picture.stat().st_size > 20_000
    record = json.loads(aliased(confident, CHAMPION).tags["mlops.promotion"])
    assert record["picture"] == verdict.picture.name
    text = summary.read_text(encoding="utf-8")
    assert "Bootstrap distribution of the improvement" in text and "█" in text
    assert f"decision picture: {verdict.picture}" in text
    assert f"decision picture: {verdict.picture}" in verdict.text()


def test_refused_and_dry_run_decisions_are_pictured_too(confident, as_admin, decisions_folder):
    challenger(confident, 1)
    assert promote(confident, dry_run=True).picture.exists()
    promote(confident)
    challenger(confident, weak(confident))
    refused = promote(confident)
    assert not refused.passed and refused.picture.exists()
    assert len(list(decisions_folder.glob("*.png"))) == 3
    assert not list(decisions_folder.glob(".*")), "no partial file left"


def test_a_regression_decision_compares_the_errors():
    rng = np.random.default_rng(0)
    target = rng.normal(size=200)
    verdict = SimpleNamespace(
        primary="rmse", improvement=None, challenger=SimpleNamespace(version="2"),
        champion=SimpleNamespace(version="1"), challenger_scores={"rmse": 0.5},
        champion_scores={"rmse": 0.6},
        holdout=(target, Predictions(target + rng.normal(0, 0.5, 200)),
                 Predictions(target + rng.normal(0, 0.6, 200))),
    )  # fmt: skip
    settings = SimpleNamespace(task="regression", promotion=SimpleNamespace(min_value=0.7))
    assert draw(verdict, settings, "version 2 promoted").startswith(PNG)


def test_the_text_histogram_marks_the_bound_and_the_gate():
    gains = np.random.default_rng(1).normal(0.02, 0.01, 1000)
    bars, marks, legend = text_histogram(gains, 0.004, 0.0, width=30).splitlines()
    low, drawn, high = bars.split(" ")
    assert len(drawn) == 30 and "█" in drawn and float(low) < 0.0 < 0.004 < float(high)
    assert marks.index("G") < marks.index("L"), "the gate left of the bound, as on the axis"
    assert legend == "L: lower bound +0.0040, G: gate +0.0000"
