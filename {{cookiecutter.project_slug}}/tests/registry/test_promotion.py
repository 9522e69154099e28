"""promote: both models re-scored on the same holdout, gated, aliases moved only on a pass."""

import json
import re

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.errors import BadInput, ServerUnavailable
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.registry.promotion import promote
from {{ cookiecutter.package_name }}.tracking.model_registry import CHALLENGER, CHAMPION, PREVIOUS

from ..http_proxy import Proxy, alias_moves
from ..project import with_changes
from ..registry_state import aliased


def challenger_from(settings, factor):
    name, value = next(iter(settings.model.params.items()))
    train(settings, {name: value * factor})
    return register_challenger(settings, newer_than_challenger=True, min_value=None).version


@pytest.fixture
def gated(settings):
    """Only the improvement gate, so any model can become the first champion."""
    return with_changes(settings, promotion={"min_value": None, "min_improvement": 0.001})


def test_the_first_promotion_moves_champion(gated, as_admin, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    version = challenger_from(gated, 1)
    verdict = promote(gated)
    assert verdict.passed and aliased(gated, CHAMPION).version == version
    tags = aliased(gated, CHAMPION).tags
    record = json.loads(tags["mlops.promotion"])
    assert record["by"] == "admin" and record["at"].endswith("Z")
    assert record["scores"] == verdict.challenger_scores
    assert (
        float(tags[f"mlops.promotion.{gated.metric.primary}"])
        == record["scores"][gated.metric.primary]
    )
    text = summary.read_text(encoding="utf-8")
    assert "promoted" in text and f"| {gated.metric.primary} |" in text


def test_a_worse_challenger_is_refused_and_nothing_moves(gated, as_admin):
    champion = challenger_from(gated, 1)
    promote(gated)
    worse = challenger_from(gated, 0.0001)
    verdict = promote(gated)
    assert not verdict.passed and "min_improvement" in verdict.outcome
    assert aliased(gated, CHAMPION).version == champion
    assert aliased(gated, CHALLENGER).version == worse
    assert aliased(gated, PREVIOUS) is None


def test_a_dry_run_moves_nothing(gated, as_admin):
    challenger_from(gated, 1)
    verdict = promote(gated, dry_run=True)
    assert verdict.passed and "would become" in verdict.outcome
    assert aliased(gated, CHAMPION) is None


def test_the_champion_itself_is_nothing_to_do(gated, as_admin):
    challenger_from(gated, 1)
    promote(gated)
    assert "nothing to do" in promote(gated).outcome


def test_no_challenger_is_bad_input(gated, as_admin):
    with pytest.raises(BadInput, match="no challenger"):
        promote(gated)


def test_another_holdout_is_refused(gated, as_admin):
    challenger_from(gated, 1)
    moved = with_changes(gated, data={"seed": gated.data.seed + 1})
    with pytest.raises(BadInput, match="was trained on another split"):
        promote(moved)
    assert aliased(gated, CHAMPION) is None


def test_only_approvers_may_promote_in_actions(gated, as_admin, monkeypatch):
    challenger_from(gated, 1)
    allowed = with_changes(gated, promotion={"approvers": ["alice"]})
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", "mallory")
    with pytest.raises(BadInput, match="mallory is not in"):
        promote(allowed)
    assert aliased(gated, CHAMPION) is None
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", "alice")
    assert promote(allowed).passed


def test_a_clearly_better_challenger_passes_the_confidence_gate_and_it_is_recorded(
    gated, as_admin, tmp_path, monkeypatch
):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    name = next(iter(gated.model.params))
    weak = {"C": 1e-4, "alpha": 1e4}[name]
    train(gated, {name: weak})
    register_challenger(gated, newer_than_challenger=True, min_value=None)
    promote(gated)
    better = challenger_from(gated, 1)
    verdict = promote(with_changes(gated, promotion={"confidence": 0.95}))
    assert verdict.passed and verdict.improvement.lower_bound > 0
    assert [check.name for check in verdict.checks] == ["min_improvement"]
    tags = aliased(gated, CHAMPION).tags
    assert aliased(gated, CHAMPION).version == better
    record = json.loads(tags["mlops.promotion"])
    assert record["improvement_lower_bound"] == verdict.improvement.lower_bound
    text = summary.read_text(encoding="utf-8")
    assert "95% lower bound" in text and "| min_improvement |" in text


@pytest.mark.parametrize("how", ["502", "drop", "lost-answer"])
def test_a_promotion_cut_off_at_the_alias_move_is_recorded_and_completed_by_a_rerun(
    gated, as_admin, monkeypatch, how
):
    version = challenger_from(gated, 1)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with Proxy(as_admin.url, fail=alias_moves, how=how) as tunnel:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", tunnel.url)
        with pytest.raises(ServerUnavailable):
            promote(gated.replace("tracking", uri=tunnel.url))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", as_admin.url)
    moved = aliased(gated, CHAMPION)
    assert moved is None if how != "lost-answer" else moved.version == version
    recorded = MlflowClient(as_admin.url).get_model_version(gated.model.registered_name, version)
    recorded = recorded.tags
    assert json.loads(recorded["mlops.promotion"])["by"] == "admin", "recorded before the move"
    promote(gated)
    assert aliased(gated, CHAMPION).version == version


@pytest.fixture
def growing(settings, as_admin, tmp_path):
    """A team's table of 400 rows (breast_cancer's first rows), on which a champion exists."""
    from sklearn.datasets import load_breast_cancer

    full = load_breast_cancer(as_frame=True).frame
    csv = tmp_path / "customers.csv"
    full.head(400).to_csv(csv, index=False)
    team = with_changes(settings, data={"source": str(csv)}, promotion={"min_value": None})
    train(team, {})
    register_challenger(team)
    assert promote(team).passed
    return team, full, csv


def test_a_table_that_grows_can_always_challenge_the_champion(growing, as_admin):
    team, full, csv = growing
    champion = aliased(team, CHAMPION).version
    full.head(500).to_csv(csv, index=False)  # Monday: 25 % more rows
    with pytest.raises(BadInput, match="no committed candidate run on the current data"):
        register_challenger(team)
    name, value = next(iter(team.model.params.items()))
    train(team, {name: value * 0.5})
    registration = register_challenger(team)
    assert registration.version != champion
    with pytest.raises(BadInput, match="this one can"):
        promote(team, without_champion=True)
    verdict = promote(team, dry_run=True)
    assert verdict.champion_scores is not None, "judged against the champion, on today's rows"
    before, after = map(int, re.findall(r"grew from (\d+) to (\d+) rows", verdict.data_note)[0])
    assert after > before and verdict.data_note in verdict.text()


def test_a_champion_on_another_split_is_named_with_the_command_that_moves_it(growing, as_admin):
    team, _, _ = growing
    champion = aliased(team, CHAMPION).version
    other = with_changes(team, data={"seed": 7})
    train(other, {})
    register_challenger(other)
    with pytest.raises(BadInput, match=r"another split.*mlops promote --without-champion"):
        promote(other)
    assert aliased(other, CHAMPION).version == champion
    verdict = promote(other, without_champion=True)
    assert verdict.passed and verdict.champion_scores is None
    assert aliased(other, PREVIOUS).version == champion


def test_the_champions_configuration_retrains_on_the_grown_table(growing, as_admin):
    """The retrain workflow's first step: `mlops train --like champion` on today's rows."""
    from {{ cookiecutter.package_name }}.experiments.retrain import params_like

    team, full, csv = growing
    client = MlflowClient()
    champion_run = client.get_run(aliased(team, CHAMPION).run_id)
    full.head(500).to_csv(csv, index=False)
    name, value = next(iter(team.model.params.items()))
    today = with_changes(team, model={"params": {name: value * 7}})  # the toml moved on
    retrained = train(today, params_like(today, CHAMPION))
    assert client.get_run(retrained.run_id).data.params == champion_run.data.params
    assert register_challenger(today).run.info.run_id == retrained.run_id
