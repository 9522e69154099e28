"""Every promotion decision is one run of the decisions experiment, written by the CI user as
the runner writes it: the figures, and the picture the MLflow UI shows."""

import json
from pathlib import Path

import pytest
from mlflow.server import get_app_client

from {{ cookiecutter.package_name }}.central_pc.users import set_role
from {{ cookiecutter.package_name }}.registry.decision_log import log_decision
from {{ cookiecutter.package_name }}.registry.promotion import promote
from {{ cookiecutter.package_name }}.tracking.model_registry import CHAMPION

from ..central_pc_fixtures import client_as, new_user, on_server
from ..project import with_changes
from ..registry_state import aliased
from .test_decision_picture import challenger, weak


@pytest.fixture
def team(settings, as_admin):
    gates = {"min_value": None, "min_improvement": 0.0, "confidence": 0.95}
    return with_changes(on_server(settings, as_admin), promotion=gates)


@pytest.fixture
def ci_user(team) -> tuple[str, str]:
    """The runner's login: a real `ci` user, made by add-user's code."""
    return new_user(team, "ci")


@pytest.fixture
def login(ci_user, as_admin, monkeypatch):
    """`login("ci")` acts as the runner does; `login("admin")` trains and registers."""
    logins = {"ci": ci_user, "admin": ("admin", as_admin.admin_password)}
    return lambda who: client_as(monkeypatch, as_admin.url, *logins[who])


def test_a_decision_is_a_run_of_the_decisions_experiment_with_its_picture(
    team, as_admin, login, tmp_path
):
    version = challenger(team, weak(team))
    login("ci")
    dry = promote(team, dry_run=True)
    verdict = promote(team)
    assert verdict.passed and aliased(team, CHAMPION).version == version
    admin = login("admin")
    run = admin.get_run(verdict.logged.run_id)
    experiment = admin.get_experiment(run.info.experiment_id)
    assert experiment.name == team.tracking.decisions_experiment
    tags, metrics = run.data.tags, run.data.metrics
    assert tags["mlops.kind"] == "decision" and tags["mlops.decision.verdict"] == "promote"
    assert tags["mlops.decision.model"] == f"{team.model.registered_name} v{version}"
    assert tags["mlops.decision.dry_run"] == "false" and run.info.status == "FINISHED"
    primary = verdict.primary
    assert metrics["passed"] == 1.0
    assert metrics[f"challenger.{primary}"] == verdict.challenger_scores[primary]
    assert run.data.params["challenger_version"] == version
    picture = f"decision/{verdict.picture.name}"
    downloaded = admin.download_artifacts(run.info.run_id, picture, str(tmp_path))
    assert Path(downloaded).read_bytes() == verdict.picture.read_bytes()
    record = json.loads(aliased(team, CHAMPION).tags["mlops.promotion"])
    assert record["decision_run"] == run.info.run_id
    assert f"decision run: {as_admin.url}" in verdict.text() and run.info.run_id in verdict.text()
    assert admin.get_run(dry.logged.run_id).data.tags["mlops.decision.dry_run"] == "true"


def test_a_refusal_is_logged_and_the_candidates_never_see_it(team, login):
    challenger(team, 1)
    login("ci")
    promote(team)
    login("admin")
    challenger(team, weak(team))
    login("ci")
    refused = promote(team)
    admin = login("admin")
    assert admin.get_run(refused.logged.run_id).data.tags["mlops.decision.verdict"] == "refuse"
    team_experiment = admin.get_experiment_by_name(team.tracking.experiment).experiment_id
    found = admin.search_runs([team_experiment], "tags.`mlops.kind` = 'decision'")
    assert not found, "decisions stay out of the experiment register-challenger searches"


def test_a_ci_user_without_the_grant_still_decides_and_is_told_the_command(
    team, as_admin, login, ci_user
):
    """A project upgraded from before the decisions experiment: its CI user has no grant."""
    version = challenger(team, 1)
    admin = login("admin")
    decisions = admin.get_experiment_by_name(team.tracking.decisions_experiment).experiment_id
    grants = get_app_client("basic-auth", tracking_uri=as_admin.url)
    grants.revoke_user_permission(ci_user[0], "experiment", decisions)
    login("ci")
    verdict = promote(team)
    assert verdict.passed and aliased(team, CHAMPION).version == version
    assert verdict.logged.run_id is None and verdict.picture.exists()
    assert "mlops server set-role <user> --role ci" in verdict.text()
    assert json.loads(aliased(team, CHAMPION).tags["mlops.promotion"])["decision_run"] is None
    login("admin")
    assert "is now ci" in set_role(team, ci_user[0], "ci")
    challenger(team, weak(team))
    login("ci")
    assert promote(team).logged.run_id, "set-role gave back the grant"


def test_a_decision_cut_off_midway_leaves_no_running_run(team, login, tmp_path):
    challenger(team, 1)
    verdict = promote(team, dry_run=True)
    verdict.picture = tmp_path / "deleted-meanwhile.png"
    admin = login("admin")
    with pytest.raises(OSError):
        log_decision(admin, team, team.model.registered_name, verdict, dry_run=True)
    decisions = admin.get_experiment_by_name(team.tracking.decisions_experiment).experiment_id
    newest = admin.search_runs([decisions], order_by=["attributes.start_time DESC"])[0]
    assert newest.info.run_id != verdict.logged.run_id and newest.info.status == "FAILED"
