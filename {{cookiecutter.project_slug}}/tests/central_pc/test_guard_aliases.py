"""Alias moves that never lose an update: promote and rollback at once end as one serial order,
and the server's compare-and-set answers only those who may move the aliases."""

import itertools
import json
import subprocess
import time

import pytest
import requests
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.demo import plan_for
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.tracking.guard_aliases import (
    EXPECTED_HEADER,
    moved_aliases,
    moved_before,
    parse_expected,
)
from {{ cookiecutter.package_name }}.tracking.model_registry import CHALLENGER, CHAMPION, PREVIOUS

from ..central_pc_fixtures import MLOPS, config_for, new_user, on_server, project_env
from ..registry_state import version_of

ALIAS_API = "/api/2.0/mlflow/registered-models/alias"


@pytest.fixture
def three_versions(settings, as_admin) -> dict[str, str]:
    """previous-champion, champion and challenger on three versions, the challenger the best
    on the holdout (so a promotion passes its gates) and the champion the worst."""
    plan, scored = plan_for(settings), []  # the demo's three settings of the task's knob
    for value in plan.candidates:
        run = train(settings, {plan.param: value})
        version = register_challenger(settings, newer_than_challenger=True).version
        scored.append((run.metrics[settings.metric.primary], str(version)))
    worst_first = sorted(scored, reverse=not settings.metric.greater_is_better)
    (_, worst), (_, middle), (_, best) = worst_first
    return {PREVIOUS: middle, CHAMPION: worst, CHALLENGER: best}


def set_aliases(settings, aliases: dict[str, str]) -> None:
    client = MlflowClient()
    for alias, version in aliases.items():
        client.set_registered_model_alias(settings.model.registered_name, alias, version)


def registry(settings) -> dict[str, str | None]:
    return {alias: version_of(settings, alias) for alias in (PREVIOUS, CHAMPION, CHALLENGER)}


def applied(state: dict, verb: str) -> dict:
    """What one verb does on its own: the serial semantics the race must match."""
    if verb == "promote":
        return {**state, PREVIOUS: state[CHAMPION], CHAMPION: state[CHALLENGER]}
    return {**state, CHAMPION: state[PREVIOUS]}


def serial_outcomes(start: dict, verbs: list[str]) -> list[dict]:
    outcomes = []
    for order in itertools.permutations(verbs):
        state = start
        for verb in order:
            state = applied(state, verb)
        outcomes.append(state)
    return outcomes


@pytest.mark.parametrize("rollback_delay_s", [0.0, 2.0, 5.0])
def test_promote_and_rollback_at_once_end_as_one_serial_order(
    settings, as_admin, three_versions, tmp_path, rollback_delay_s
):
    """Every verb that says it moved an alias did, every verb that refused moved nothing, and
    the registry ends as if the successful ones had run one after the other. Both run as the
    runner does, as the ci user."""
    user, password = new_user(on_server(settings, as_admin), "ci")
    env = project_env(
        MLOPS_CONFIG=str(config_for(as_admin, tmp_path, settings, confidence=0)),  # point scores
        MLFLOW_TRACKING_URI=as_admin.url,
        MLFLOW_TRACKING_USERNAME=user,
        MLFLOW_TRACKING_PASSWORD=password,
    )
    set_aliases(settings, three_versions)
    pipes = {"text": True, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "env": env}
    verbs = {"promote": subprocess.Popen([MLOPS, "promote"], **pipes)}
    time.sleep(rollback_delay_s)
    verbs["rollback"] = subprocess.Popen([MLOPS, "rollback"], **pipes)
    said = {verb: process.communicate(timeout=600) for verb, process in verbs.items()}
    codes = {verb: process.returncode for verb, process in verbs.items()}
    assert set(codes.values()) <= {0, 2}, said
    for verb, (_, err) in said.items():
        if codes[verb]:
            assert len(err.strip().splitlines()) == 1, err
            assert "nothing was changed" in err or "nothing to roll back" in err, err
    moved = [verb for verb, code in codes.items() if code == 0]
    assert registry(settings) in serial_outcomes(three_versions, moved), (codes, said)


def alias_request(server, auth, expected: str | None, version: str, name: str):
    headers = {EXPECTED_HEADER: expected} if expected is not None else {}
    body = {"name": name, "alias": CHAMPION, "version": version}
    return requests.post(f"{server.url}{ALIAS_API}", json=body, auth=auth, headers=headers,
                         timeout=30)  # fmt: skip


def test_a_move_on_a_stale_expectation_is_refused_and_writes_nothing(
    settings, as_admin, three_versions
):
    set_aliases(settings, three_versions)
    name, admin = settings.model.registered_name, ("admin", as_admin.admin_password)
    stale = json.dumps({CHAMPION: three_versions[PREVIOUS]})
    refused = alias_request(as_admin, admin, stale, three_versions[CHALLENGER], name)
    assert refused.status_code == 409 and "champion moved while this ran" in refused.text
    assert version_of(settings, CHAMPION) == three_versions[CHAMPION]

    malformed = alias_request(as_admin, admin, "[1", three_versions[CHALLENGER], name)
    assert (
        malformed.status_code == 400 and version_of(settings, CHAMPION) == three_versions[CHAMPION]
    )

    fresh = json.dumps({CHAMPION: three_versions[CHAMPION], "nobody-uses": None})
    assert alias_request(as_admin, admin, fresh, three_versions[CHALLENGER], name).ok
    assert version_of(settings, CHAMPION) == three_versions[CHALLENGER]

    twin = json.dumps({CHAMPION: three_versions[CHAMPION]})  # stale, but its move is made
    assert alias_request(as_admin, admin, twin, three_versions[CHALLENGER], name).ok


@pytest.mark.parametrize(("role", "status"), [("none", 401), ("reader", 403), ("member", 403)])
def test_who_may_not_move_aliases_learns_nothing_from_the_expectation(
    settings, as_admin, three_versions, role, status
):
    """MLflow refuses them first: the same answer whether the expectation holds or not, so the
    header is no way to read the aliases of a model one may not change."""
    set_aliases(settings, three_versions)
    auth = new_user(on_server(settings, as_admin), role) if role != "none" else None
    name, target = settings.model.registered_name, three_versions[CHALLENGER]
    answers = [
        alias_request(as_admin, auth, json.dumps({CHAMPION: guess}), target, name)
        for guess in (three_versions[CHAMPION], three_versions[PREVIOUS])
    ]
    assert [a.status_code for a in answers] == [status, status]
    assert answers[0].text == answers[1].text
    assert version_of(settings, CHAMPION) == three_versions[CHAMPION]


def test_an_expectation_names_what_moved_and_reads_only_json_objects():
    assert moved_aliases({"champion": "2", "challenger": None}, {"champion": "3"}) == ["champion"]
    assert moved_aliases({"challenger": None}, {"champion": "3"}) == []
    assert moved_before({"challenger": None}, {"challenger": "4"}, "challenger", "4") == []
    assert moved_before({"challenger": None}, {"challenger": "4"}, "challenger", "5") == [
        "challenger"
    ]
    assert parse_expected('{"champion": null}') == {"champion": None}
    for bad in ("[]", '{"champion": 2}', "not json", '{"1": {}}'):
        with pytest.raises(ValueError, match="JSON object"):
            parse_expected(bad)
