"""A run's pictures, drawn from its out-of-fold predictions on the training part.

Classification: the confusion matrix, ROC and precision-recall curves (one-vs-rest beyond two
classes) and calibration; regression: predicted against actual, and the residuals; both: the
permutation importance of each raw column (scikit-learn's `inspection`), measured by the fold
models on the rows they never saw, in the project's primary metric. Never the holdout: it
belongs to `promote`, and a person must not be able to pick a model by looking at it either.

Two files: `overview.png` (every panel in one image) and `report.html` (the same image inline,
the importance table, and what the pictures were drawn from), so logging them costs two requests.
Headless: matplotlib draws on a `Figure` of its own, never through a display.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, replace

import numpy as np
from sklearn.inspection import permutation_importance

from ..settings import Settings
from .cross_validation import OutOfFold
from .metrics import METRICS, predict
from .training import FittedCandidate

OVERVIEW, REPORT = "overview.png", "report.html"
TOP_COLUMNS = 15
IMPORTANCE_REPEATS = 5
IMPORTANCE_ROWS = 2_000
"""Rows per fold that importance permutes: enough for a ranking, bounded on a large table."""


@dataclass(frozen=True)
class Importance:
    column: str
    mean: float
    spread: float


def draw(out_of_fold: OutOfFold, settings: Settings) -> dict[str, bytes]:
    """Both files, by name; the fold models are released afterwards."""
    from matplotlib.figure import Figure

    importance = column_importance(out_of_fold, settings)
    panels = _panels(settings.task, out_of_fold)
    columns = 2
    rows = math.ceil((len(panels) + 1) / columns)
    figure = Figure(figsize=(6 * columns, 4.6 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for panel, ax in zip(panels, axes, strict=False):
        panel(ax, out_of_fold)
    _importance_panel(axes[len(panels)], importance, settings.metric.primary)
    for ax in axes[len(panels) + 1 :]:
        ax.set_visible(False)
    rows_seen = len(out_of_fold.target)
    figure.suptitle(f"out-of-fold predictions on the training part ({rows_seen:,} rows, "
                    f"{len(out_of_fold.folds)} folds); the holdout is not used")  # fmt: skip
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=80)
    out_of_fold.release()
    png = image.getvalue()
    return {OVERVIEW: png, REPORT: _report(png, importance, settings, rows_seen).encode()}


def column_importance(out_of_fold: OutOfFold, settings: Settings) -> list[Importance]:
    """How much the primary metric drops when a raw column is shuffled, averaged over folds."""
    metric = METRICS[settings.metric.primary]
    sign = 1.0 if metric.greater_is_better else -1.0

    def scorer(model, features, target) -> float:
        found = predict(model, features)
        return sign * float(metric.score(target, found.labels, found.proba))

    runs = []
    for fold in out_of_fold.folds:
        if fold.model is None or fold.features is None:
            raise ValueError("the fold models were released before the pictures were drawn")
        rows = min(1.0, IMPORTANCE_ROWS / len(fold.features))
        found = permutation_importance(fold.model, fold.features, fold.target, scoring=scorer,
                                       n_repeats=IMPORTANCE_REPEATS, max_samples=rows,
                                       random_state=settings.data.seed)  # fmt: skip
        runs.append(found.importances)
    every = np.concatenate(runs, axis=1)  # column x (folds * repeats)
    columns = out_of_fold.folds[0].features.columns  # type: ignore[union-attr]
    found = [Importance(str(c), float(every[i].mean()), float(every[i].std()))
             for i, c in enumerate(columns)]  # fmt: skip
    return sorted(found, key=lambda item: -item.mean)


def _panels(task: str, out_of_fold: OutOfFold) -> list:
    if task == "regression":
        return [_actual_vs_predicted, _residuals]
    if out_of_fold.predictions.proba is None:
        return [_confusion]
    return [_confusion, _roc, _precision_recall, _calibration]


def _confusion(ax, oof: OutOfFold) -> None:
    from sklearn.metrics import ConfusionMatrixDisplay

    ConfusionMatrixDisplay.from_predictions(oof.target, oof.predictions.labels, ax=ax,
                                            colorbar=False)  # fmt: skip
    ax.set_title("confusion matrix")


def _one_vs_rest(oof: OutOfFold):
    """(label, is that class, its probability) for each class: one curve for two classes."""
    target, proba, classes = np.asarray(oof.target), oof.predictions.proba, oof.classes or []
    if proba is None:  # never drawn then (see `_panels`)
        return
    chosen = classes[1:] if len(classes) == 2 else classes
    for label in chosen:
        yield str(label), target == label, proba[:, classes.index(label)]


def _roc(ax, oof: OutOfFold) -> None:
    from sklearn.metrics import RocCurveDisplay

    for label, truth, score in _one_vs_rest(oof):
        RocCurveDisplay.from_predictions(truth, score, ax=ax, name=f"class {label}")
    ax.set_title("ROC curve")


def _precision_recall(ax, oof: OutOfFold) -> None:
    from sklearn.metrics import PrecisionRecallDisplay

    for label, truth, score in _one_vs_rest(oof):
        PrecisionRecallDisplay.from_predictions(truth, score, ax=ax, name=f"class {label}")
    ax.set_title("precision-recall curve")


def _calibration(ax, oof: OutOfFold) -> None:
    from sklearn.calibration import CalibrationDisplay

    for label, truth, score in _one_vs_rest(oof):
        CalibrationDisplay.from_predictions(truth, score, n_bins=10, ax=ax, name=f"class {label}")
    ax.set_title("calibration")


def _actual_vs_predicted(ax, oof: OutOfFold) -> None:
    from sklearn.metrics import PredictionErrorDisplay

    PredictionErrorDisplay.from_predictions(oof.target, oof.predictions.labels, ax=ax,
                                            kind="actual_vs_predicted")  # fmt: skip
    ax.set_title("predicted vs actual")


def _residuals(ax, oof: OutOfFold) -> None:
    from sklearn.metrics import PredictionErrorDisplay

    PredictionErrorDisplay.from_predictions(oof.target, oof.predictions.labels, ax=ax,
                                            kind="residual_vs_predicted")  # fmt: skip
    ax.set_title("residuals")


def _importance_panel(ax, importance: list[Importance], metric: str) -> None:
    top = importance[:TOP_COLUMNS][::-1]
    ax.barh([item.column for item in top], [item.mean for item in top],
            xerr=[item.spread for item in top])  # fmt: skip
    ax.set_title(f"permutation importance (drop in {metric})")


def _report(png: bytes, importance: list[Importance], settings: Settings, rows: int) -> str:
    encoded = base64.b64encode(png).decode()
    table = "".join(
        f"<tr><td>{html.escape(item.column)}</td><td>{item.mean:.4f}</td>"
        f"<td>{item.spread:.4f}</td></tr>"
        for item in importance
    )
    metric = html.escape(settings.metric.primary)
    return (
        "<!doctype html><meta charset='utf-8'><title>run pictures</title>"
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}"
        "td,th{padding:2px 10px;text-align:right}td:first-child{text-align:left}</style>"
        f"<h1>{html.escape(settings.model.registered_name)}: this run's pictures</h1>"
        f"<p>Drawn from out-of-fold predictions on the training part ({rows:,} rows, "
        f"{settings.data.cv_folds} folds, the folds of the validation score). The holdout is "
        "not used: it belongs to <code>mlops promote</code>.</p>"
        f"<img alt='pictures' style='width:100%' src='data:image/png;base64,{encoded}'>"
        f"<h2>Permutation importance (drop in {metric} when a column is shuffled)</h2>"
        f"<table><tr><th>column</th><th>mean</th><th>spread</th></tr>{table}</table>"
    )


def pictured(candidate: FittedCandidate, settings: Settings) -> FittedCandidate:
    """The candidate with its pictures, drawn once, for the run that keeps its model."""
    if candidate.out_of_fold is None:
        return candidate
    return replace(candidate, pictures=draw(candidate.out_of_fold, settings), out_of_fold=None)
