"""Every tag key the project writes or reads, in one place; `docs/data-and-decisions.md` lists them.

Run tags are set when a run starts (no extra request); version tags record registration,
promotion and rollback on the model version itself, so the registry is its own audit trail.
"""

from __future__ import annotations

# --- run tags: MLflow's own keys, filled by the project --------------------------------------
GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_BRANCH_TAG = "mlflow.source.git.branch"
USER_TAG = "mlflow.user"

# --- run tags: the project's ------------------------------------------------------------------
KIND_TAG = "mlops.kind"
"""train, trial (a tune child), tune (a tune parent), predict (a batch `mlops predict` scored),
monitor (a batch `mlops monitor` compared with the champion's reference), decision (a promote
decision, in the decisions experiment)."""
WHERE_TAG = "mlops.where"
UV_LOCK_TAG = "mlops.uv_lock_sha256"
CANDIDATE_TAG = "mlops.candidate"
"""'true' on runs register-challenger may pick."""
HAS_MODEL_TAG = "mlops.has_model"
MODEL_ID_TAG = "mlops.model_id"
"""The logged model the run's author logged, recorded with the run's metrics."""
HOLDOUT_DIGEST_TAG = "mlops.holdout_digest"
"""Also copied to the version, like the data tags below: the data the model saw."""
DIRTY_TAG = "mlops.dirty"
"""'true' when the run was made from uncommitted mlops.toml or src/ changes."""
SPLIT_TAG = "mlops.split"
"""The split's parameters (scheme, seed, test_size, id): equal ones keep every row's part."""
TRAIN_ROWS_TAG = "mlops.train_rows"
HOLDOUT_ROWS_TAG = "mlops.holdout_rows"
TRAIN_SAMPLE_TAG = "mlops.train_sample"
"""The lowest training row keys: promote checks that none is in today's holdout."""
DATA_TAGS = (HOLDOUT_DIGEST_TAG, SPLIT_TAG, TRAIN_ROWS_TAG, HOLDOUT_ROWS_TAG, TRAIN_SAMPLE_TAG)
ESTIMATOR_TAG = "mlops.estimator"
ATTEMPT_TAG = "mlops.attempt"
"""Shared by every run of one train or tune: upload-pending finds what a dead tunnel left."""
TRIAL_TAG = "mlops.trial"
BEST_RUN_TAG = "mlops.best_run_id"
UPLOADED_FROM_TAG = "mlops.uploaded_from"
PREDICT_MODEL_TAG = "mlops.predict.model"
"""On a predict run: `<name> v<version>` (and the alias it was reached by) that scored the batch."""
PREDICT_DIGEST_TAG = "mlops.predict.model_files_sha256"
PREDICT_INPUT_TAG = "mlops.predict.input"
PREDICT_INPUT_DIGEST_TAG = "mlops.predict.input_sha256"
MONITOR_MODEL_TAG = "mlops.monitor.model"
"""On a monitor run: `<name> v<version>` whose reference profile the batch was compared with."""
MONITOR_INPUT_TAG = "mlops.monitor.input"
DECISION_MODEL_TAG = "mlops.decision.model"
"""On a decision run: `<name> v<version>` of the challenger judged."""
DECISION_VERDICT_TAG = "mlops.decision.verdict"
"""`promote` (the gates held) or `refuse`; whether the aliases moved is the version's record."""
DECISION_DRY_RUN_TAG = "mlops.decision.dry_run"

# --- model version tags -----------------------------------------------------------------------
SOURCE_RUN_TAG = "mlops.source_run"
MODEL_FILES_DIGEST_TAG = "mlops.model_files_sha256"
"""sha256 over every file of the model, pinned at registration, checked before any load."""
VERSION_GIT_COMMIT_TAG = "mlops.git_commit"
REGISTERED_BY_TAG = "mlops.registered_by"
REGISTERED_AT_TAG = "mlops.registered_at"
WORKFLOW_RUN_TAG = "mlops.workflow_run"
PROMOTION_RECORD_TAG = "mlops.promotion"
"""On a promoted version, one JSON record (one request, not one per fact): by, at (UTC), the
holdout scores, the improvement and its lower bound, the Actions run, the decision's picture
and run."""
ROLLED_BACK_BY_TAG = "mlops.rolled_back_by"
ROLLED_BACK_AT_TAG = "mlops.rolled_back_at"


def metric_tag(metric: str) -> str:
    """On a version: the metric's value at registration (`mlops.metric.cv_f1`, ...)."""
    return f"mlops.metric.{metric}"


def promotion_metric_tag(metric: str) -> str:
    """On a version: its holdout score when it was promoted (`mlops.promotion.f1`, ...)."""
    return f"mlops.promotion.{metric}"
