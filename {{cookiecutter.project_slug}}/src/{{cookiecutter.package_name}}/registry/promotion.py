"""`mlops promote`: score champion and challenger on the same holdout, gate, move aliases.

The holdout is used here and nowhere else in the choice of a model: candidates were ranked by
their validation score, so the challenger meets these rows for the first time. Both models are
scored by the project's own metrics, the improvement's uncertainty is estimated with a paired
bootstrap (`paired_bootstrap`), and `gates` decides. Every decision (dry runs and refusals too)
is one run of the decisions experiment (`decision_log`), with its picture: the CI user writes
there, and only reads the experiment that holds the candidates.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion

from ..errors import BadInput
from ..ml.data import Split, load_split
from ..ml.metrics import METRICS, Predictions, predict, score
from ..report import Table, write_step_summary
from ..settings import Settings
from ..tracking.datasets import holdout_digest
from ..tracking.model_files import fetch_verified
from ..tracking.model_registry import CHALLENGER, CHAMPION, PREVIOUS, Expected, expecting
from ..tracking.provenance import who, workflow_run_url
from ..tracking.tag_keys import (
    HOLDOUT_DIGEST_TAG,
    HOLDOUT_ROWS_TAG,
    PROMOTION_RECORD_TAG,
    SPLIT_TAG,
    TRAIN_SAMPLE_TAG,
    promotion_metric_tag,
)
from .approvers import check_approvers, now_utc
from .decision_log import Logged, log_decision
from .decision_picture import draw, save, text_histogram
from .gates import GateCheck, all_hold, check_gates, failed_names
from .paired_bootstrap import Improvement, paired_bootstrap
from .session import RegistrySession, open_registry


@dataclass
class Verdict:
    """The comparison and the decision, rendered for a terminal and for a job summary."""

    challenger: ModelVersion
    champion: ModelVersion | None
    challenger_scores: dict[str, float]
    champion_scores: dict[str, float] | None
    primary: str = ""
    improvement: Improvement | None = None
    checks: list[GateCheck] = field(default_factory=list)
    outcome: str = ""
    data_note: str = ""  # how today's holdout relates to the one the models were scored on
    replaced: ModelVersion | None = None  # a champion judged without (--without-champion)
    gate: float = 0.0
    """`min_improvement`, where the lower bound must land above."""
    holdout: tuple | None = field(default=None, repr=False)
    """(target, challenger's predictions, champion's or None): what the picture draws."""
    picture: Path | None = None
    logged: Logged | None = None

    @property
    def passed(self) -> bool:
        return all_hold(self.checks)

    @property
    def refusal(self) -> str | None:
        failed = failed_names(self.checks)
        return f"gate {', '.join(failed)} failed" if failed else None

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
        table = Table(["gate", "requires", "observed", "result"])
        for check in self.checks:
            table.add(check.name, check.required, check.observed, "pass" if check.held else "FAIL")
        return table

    def _parts(self, render) -> list[str]:
        parts = [self.data_note] if self.data_note else []
        parts.append(render(self.table()))
        if self.improvement is not None:
            parts.append(self.improvement.text(self.primary))
        if self.checks:
            parts.append(render(self.gates_table()))
        if self.picture is not None:
            parts.append(f"decision picture: {self.picture}")
        if self.logged is not None:
            parts.append(self.logged.line())
        return parts

    def markdown(self, name: str) -> str:
        verdict = "promoted" if self.passed else "refused"
        parts = [f"## Promotion of `{name}`: {verdict}", *self._parts(Table.markdown)]
        improvement = self.improvement
        if improvement is not None and improvement.gains is not None:
            histogram = text_histogram(improvement.gains, improvement.lower_bound, self.gate)
            parts.append(f"Bootstrap distribution of the improvement:\n\n```text\n{histogram}\n```")
        parts.append(self.outcome)
        return "\n\n".join(part for part in parts if part)

    def text(self) -> str:
        return "\n\n".join(self._parts(Table.text))


WITHOUT_CHAMPION = "mlops promote --without-champion"


def data_note(
    split: Split, challenger: ModelVersion, champion: ModelVersion | None, without: bool
) -> str:
    """Whether today's holdout is fair to both models, verified from what each recorded: the
    same split parameters (so no old row changed part) and none of its sampled training rows in
    today's holdout. Refuses what is not fair, naming the one command that resolves it."""
    unfair_champion = _unfairness(split, champion) if champion else None
    if without and not unfair_champion:
        raise BadInput(
            "--without-champion is for a champion that cannot be compared fairly; this one can"
        )
    reason = _unfairness(split, challenger)
    if reason:
        raise BadInput(
            f"the {CHALLENGER} (version {challenger.version}) {reason}: retrain (`mlops train`) "
            "and `mlops register-challenger` on the current data"
        )
    if champion and unfair_champion and not without:
        raise BadInput(
            f"the {CHAMPION} (version {champion.version}) {unfair_champion}: its score on "
            f"today's holdout would not be fair; `{WITHOUT_CHAMPION}` judges the challenger by "
            "[promotion] min_value alone"
        )
    return _growth(split, champion if champion and not without else challenger)


def _unfairness(split: Split, version: ModelVersion) -> str | None:
    tags = version.tags
    if tags.get(HOLDOUT_DIGEST_TAG) == holdout_digest(split):
        return None
    recorded = tags.get(SPLIT_TAG)
    if recorded != split.description:
        before = recorded or "one made before repeatable splits"
        return f"was trained on another split ({before}; today: {split.description})"
    sample = {int(key, 16) for key in tags.get(TRAIN_SAMPLE_TAG, "").split(",") if key}
    holdout: Iterable = split.holdout_keys if split.holdout_keys is not None else []
    if sample & {int(key) for key in holdout}:
        return "trained on rows that are in today's holdout (rows edited in place? name [data] id)"
    return None


def _growth(split: Split, version: ModelVersion) -> str:
    before = version.tags.get(HOLDOUT_ROWS_TAG)
    if version.tags.get(HOLDOUT_DIGEST_TAG) == holdout_digest(split) or not before:
        return ""
    now = len(split.x_test)
    return f"the holdout grew from {before} to {now} rows since version {version.version} trained"


def holdout_predictions(name: str, version: ModelVersion, split: Split) -> Predictions:
    """From the verified files only: the bytes judged here are the bytes that were registered."""
    with tempfile.TemporaryDirectory(prefix="mlops-promote-") as folder:
        model = fetch_verified(name, version, Path(folder)).load()
    return predict(model, split.x_test)


def promote(settings: Settings, dry_run: bool = False, without_champion: bool = False) -> Verdict:
    """Move champion to the challenger if the gates hold; a refused verdict moves nothing.

    `without_champion`: the champion cannot be compared fairly (another split), so the
    challenger is judged by min_value alone; the champion still becomes previous-champion."""
    check_approvers(settings, "promote")
    with open_registry(settings, "ci") as registry:
        challenger = registry.require(CHALLENGER, "run `mlops register-challenger` first")
        champion = registry.version(CHAMPION)
        expected = expecting({CHAMPION: champion, CHALLENGER: challenger})  # what is judged
        if champion is not None and champion.version == challenger.version:
            verdict = Verdict(challenger, champion, {}, None)
            verdict.outcome = f"version {challenger.version} already is {CHAMPION}: nothing to do"
            return verdict
        split = load_split(settings)
        note = data_note(split, challenger, champion, without_champion)
        judged_against = None if without_champion else champion
        verdict = judge(settings, split, registry.name, challenger, judged_against)
        verdict.data_note = note
        verdict.replaced = champion if without_champion else None
        verdict.picture = _picture(settings, registry.name, verdict, dry_run)
        verdict.logged = log_decision(registry.client, settings, registry.name, verdict, dry_run)
        if not verdict.passed:
            verdict.outcome = f"{CHAMPION} stays: {verdict.refusal}"
        elif dry_run:
            verdict.outcome = f"dry run: version {challenger.version} would become {CHAMPION}"
        else:
            _move(registry, verdict, expected)
        write_step_summary(verdict.markdown(registry.name))
    return verdict


def judge(
    settings: Settings,
    split: Split,
    name: str,
    challenger: ModelVersion,
    champion: ModelVersion | None,
) -> Verdict:
    """Score both on the holdout, estimate the improvement, and run the gates."""
    primary, task = settings.metric.primary, settings.task
    new = holdout_predictions(name, challenger, split)
    old = holdout_predictions(name, champion, split) if champion else None
    verdict = Verdict(
        challenger,
        champion,
        score(new, split.y_test, task),
        score(old, split.y_test, task) if old else None,
        primary=primary,
        gate=settings.promotion.min_improvement,
        holdout=(split.y_test, new, old),
    )
    if old is not None and settings.promotion.confidence > 0:
        verdict.improvement = paired_bootstrap(
            METRICS[primary], split.y_test, new, old,
            confidence=settings.promotion.confidence,
            resamples=settings.promotion.bootstrap_resamples,
            seed=settings.data.seed,
            stratified=task == "classification",
        )  # fmt: skip
    verdict.checks = check_gates(
        settings,
        verdict.challenger_scores[primary],
        verdict.champion_scores[primary] if verdict.champion_scores else None,
        verdict.improvement,
    )
    return verdict


def _picture(settings: Settings, name: str, verdict: Verdict, dry_run: bool) -> Path:
    """Drawn and saved before anything moves, so the record can name it."""
    if not verdict.passed:
        title = f"refused: {verdict.refusal}"
    else:
        title = "dry run: would promote" if dry_run else "promoted"
    png = draw(verdict, settings, f"version {verdict.challenger.version} {title}")
    return save(png, settings, name, str(verdict.challenger.version), now_utc())


def _move(registry: RegistrySession, verdict: Verdict, expected: Expected) -> None:
    """The record first, then the aliases, champion last: cut off at any request, the registry
    never holds a champion without its audit trail, and a rerun judges again and completes.
    Each move insists on the aliases read before judging: a rollback or another promotion that
    ran meanwhile makes this one refuse (exit 2), never overwrite theirs."""
    challenger, champion = verdict.challenger, verdict.champion or verdict.replaced
    registry.check_unmoved(expected)
    for key, value in _promotion_tags(verdict).items():
        registry.client.set_model_version_tag(registry.name, challenger.version, key, value)
    if champion is not None:
        expected = registry.move(PREVIOUS, champion, expected)
    registry.move(CHAMPION, challenger, expected)
    old = f" ({PREVIOUS}: version {champion.version})" if champion else ""
    verdict.outcome = f"version {challenger.version} is now {CHAMPION}{old}"


def _promotion_tags(verdict: Verdict) -> dict[str, str]:
    """Two tags, two requests: the whole record, and the primary score `status` shows."""
    improvement = verdict.improvement
    record = {
        "by": who(),
        "at": now_utc(),
        "scores": verdict.challenger_scores,
        "improvement": improvement.point if improvement else None,
        "improvement_lower_bound": improvement.lower_bound if improvement else None,
        "workflow_run": workflow_run_url(),
        "picture": verdict.picture.name if verdict.picture else None,
        "decision_run": verdict.logged.run_id if verdict.logged else None,
    }
    primary = verdict.primary
    return {
        PROMOTION_RECORD_TAG: json.dumps(record, sort_keys=True),
        promotion_metric_tag(primary): repr(verdict.challenger_scores[primary]),
    }
