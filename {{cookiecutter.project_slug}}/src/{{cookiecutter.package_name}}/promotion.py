"""`mlops promote`: re-score champion and challenger on the same holdout, gate, move aliases.

Both models are scored by the project's own evaluation code on the pinned holdout, so their
numbers are comparable; promote logs no runs, so the CI user needs only READ on the experiment
and MANAGE on the registered model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import mlflow.sklearn
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from . import tracking
from .data import Split, load_split
from .errors import BadInput
from .gates import GateCheck, explain, validate
from .metrics import evaluate
from .provenance import HOLDOUT_DIGEST_TAG, who, workflow_run_url
from .registry import CHALLENGER, CHAMPION, PREVIOUS, aliased_version, move_alias, now_utc
from .report import Table, write_step_summary
from .settings import Settings


@dataclass
class Verdict:
    """The comparison and the decision, rendered for a terminal and for a job summary."""

    challenger: ModelVersion
    champion: ModelVersion | None
    challenger_scores: dict[str, float]
    champion_scores: dict[str, float] | None
    checks: list[GateCheck] = field(default_factory=list)
    refusal: str | None = None
    outcome: str = ""

    @property
    def passed(self) -> bool:
        return self.refusal is None

    def table(self) -> Table:
        head = ["metric", f"challenger (v{self.challenger.version})"]
        if self.champion is not None:
            head.append(f"champion (v{self.champion.version})")
        table = Table(head)
        for name, value in self.challenger_scores.items():
            row = [name, f"{value:.4f}"]
            if self.champion_scores is not None:
                row.append(f"{self.champion_scores.get(name, float('nan')):.4f}")
            table.add(*row)
        return table

    def gates_table(self) -> Table:
        table = Table(["gate", "requires", "result"])
        for check in self.checks:
            table.add(check.name, check.required, "pass" if check.held else "FAIL")
        return table

    def markdown(self, name: str) -> str:
        verdict = "promoted" if self.passed else "refused"
        parts = [f"## Promotion of `{name}`: {verdict}", self.table().markdown()]
        if self.checks:
            parts.append(self.gates_table().markdown())
        parts.append(self.outcome)
        return "\n\n".join(part for part in parts if part)

    def text(self) -> str:
        parts = [self.table().text()]
        if self.checks:
            parts.append(self.gates_table().text())
        return "\n\n".join(parts)


def check_actor(settings: Settings) -> None:
    """In GitHub Actions, only the logins in `approvers` (as they stand on main) may promote."""
    approvers = settings.promotion.approvers
    if not approvers or os.environ.get("GITHUB_ACTIONS") != "true":
        return
    actor = os.environ.get("GITHUB_TRIGGERING_ACTOR") or os.environ.get("GITHUB_ACTOR", "")
    if actor not in approvers:
        raise BadInput(f"{actor or 'this actor'} is not in [promotion] approvers; nothing moved")


def _check_digests(split: Split, challenger: ModelVersion, champion: ModelVersion | None) -> None:
    """Refuse to compare models that were not judged on the same holdout rows."""
    current = split.holdout_digest
    for alias, version in ((CHALLENGER, challenger), (CHAMPION, champion)):
        recorded = version.tags.get(HOLDOUT_DIGEST_TAG) if version else None
        if recorded and recorded != "unknown" and recorded != current:
            raise BadInput(
                f"the {alias} (version {version.version}) was scored on holdout {recorded}, "
                f"the data now gives {current}: retrain on the current data"
            )


def score(name: str, version: ModelVersion, settings: Settings, split: Split) -> dict[str, float]:
    model = mlflow.sklearn.load_model(f"models:/{name}/{version.version}")
    return evaluate(model, split.x_test, split.y_test, settings.task)


def promote(settings: Settings, dry_run: bool = False) -> Verdict:
    """Move champion to the challenger if the gates hold; a refused verdict moves nothing."""
    check_actor(settings)
    uri = tracking.connect(settings)
    client = MlflowClient()
    name = settings.model.registered_name
    with tracking.server_errors(uri):
        challenger = aliased_version(client, name, CHALLENGER)
        if challenger is None:
            raise BadInput(f"no {CHALLENGER} for {name!r}: run `mlops register-challenger` first")
        champion = aliased_version(client, name, CHAMPION)
        if champion is not None and champion.version == challenger.version:
            verdict = Verdict(challenger, champion, {}, None)
            verdict.outcome = f"version {challenger.version} already is {CHAMPION}: nothing to do"
            return verdict
        split = load_split(settings)
        _check_digests(split, challenger, champion)
        verdict = judge(settings, split, name, challenger, champion)
        if not verdict.passed:
            verdict.outcome = f"{CHAMPION} stays: {verdict.refusal}"
        elif dry_run:
            verdict.outcome = f"dry run: version {challenger.version} would become {CHAMPION}"
        else:
            _move(client, name, verdict)
        write_step_summary(verdict.markdown(name))
    return verdict


def judge(settings, split, name, challenger, champion) -> Verdict:
    challenger_scores = score(name, challenger, settings, split)
    champion_scores = score(name, champion, settings, split) if champion else None
    primary = settings.metric.primary
    verdict = Verdict(challenger, champion, challenger_scores, champion_scores)
    verdict.checks = explain(
        settings,
        challenger_scores[primary],
        champion_scores[primary] if champion_scores else None,
    )
    reason = validate(settings, challenger_scores, champion_scores)
    if reason is not None:
        failed = [check.name for check in verdict.checks if not check.held]
        verdict.refusal = f"gate {', '.join(failed)} failed" if failed else reason
    return verdict


def _move(client: MlflowClient, name: str, verdict: Verdict) -> None:
    challenger, champion = verdict.challenger, verdict.champion
    if champion is not None:
        move_alias(client, name, PREVIOUS, champion)
    move_alias(client, name, CHAMPION, challenger)
    tags = {"mlops.promoted_by": who(), "mlops.promoted_at": now_utc()}
    tags.update(
        {f"mlops.promotion.{metric}": repr(v) for metric, v in verdict.challenger_scores.items()}
    )
    url = workflow_run_url()
    if url:
        tags["mlops.promotion.workflow_run"] = url
    for key, value in tags.items():
        client.set_model_version_tag(name, challenger.version, key, value)
    old = f" ({PREVIOUS}: version {champion.version})" if champion else ""
    verdict.outcome = f"version {challenger.version} is now {CHAMPION}{old}"
