"""The picture of a promotion decision: where the bootstrap puts the improvement, where the gate
stands, and champion against challenger on the holdout rows they were judged on.

Left: the paired-bootstrap distribution of the improvement (positive = the challenger is better),
with the point estimate, the lower bound and the `min_improvement` line; without a champion (or
with `confidence = 0`), the challenger's score against `min_value`. Right: per class, each
model's F1 on the holdout (classification), or the distribution of each model's absolute errors
(regression): where the challenger wins and loses.

The picture is saved on the machine that decided (`[MLOPS_DECISIONS_DIR or .mlops/decisions]/`,
named after the model, the version and the time) before anything moves, then logged with the
decision's run (`decision_log`); both are named in the version's promotion record and in the job
summary, which also carries the distribution as a text histogram (a summary shows no image).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..ml.metrics import Predictions
from ..settings import Settings
from ..variables import DECISIONS_DIR_ENV

DECISIONS_DIR = ".mlops/decisions"
BARS = "·▁▂▃▄▅▆▇█"


def decisions_dir(settings: Settings) -> Path:
    """Where decision pictures go: the runner sets a folder that outlives its checkout."""
    return Path(os.environ.get(DECISIONS_DIR_ENV) or settings.resolve(DECISIONS_DIR))


def save(png: bytes, settings: Settings, name: str, version: str, stamp: str) -> Path:
    folder = decisions_dir(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    base = f"{_safe(name)}-v{version}-{stamp.replace(':', '')}"
    path = folder / f"{base}.png"
    for number in range(2, 1000):  # a dry run and the promotion within one second
        if not path.exists():
            break
        path = folder / f"{base}-{number}.png"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(png)
    partial.replace(path)
    return path


def draw(verdict, settings: Settings, title: str) -> bytes:
    """Both panels as one PNG; `verdict` is promote's, judged, with its holdout predictions."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 4.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    _gate_panel(left, verdict, settings)
    target, new, old = verdict.holdout
    if settings.task == "classification":
        _per_class(right, target, new, old, verdict)
    else:
        _errors(right, target, new, old, verdict)
    figure.suptitle(f"{title} ({len(target)} holdout rows)", fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _gate_panel(ax, verdict, settings: Settings) -> None:
    improvement, primary = verdict.improvement, verdict.primary
    if improvement is None or improvement.gains is None:
        scores = {f"challenger v{verdict.challenger.version}": verdict.challenger_scores[primary]}
        if verdict.champion_scores:
            scores[f"champion v{verdict.champion.version}"] = verdict.champion_scores[primary]
        ax.bar(list(scores), list(scores.values()), color=["tab:orange", "tab:blue"][: len(scores)])
        if settings.promotion.min_value is not None:
            ax.axhline(settings.promotion.min_value, color="black", linestyle="--",
                       label=f"min_value {settings.promotion.min_value}")  # fmt: skip
            ax.legend()
        ax.set_title(f"{primary} on the holdout")
        return
    ax.hist(improvement.gains, bins=40, color="tab:gray", alpha=0.7)
    marks = [(improvement.point, "tab:orange", "-", f"point {improvement.point:+.4f}"),
             (improvement.lower_bound, "tab:red", "-",
              f"{round(100 * improvement.confidence)}% lower bound {improvement.lower_bound:+.4f}"),
             (settings.promotion.min_improvement, "black", "--",
              f"min_improvement {settings.promotion.min_improvement:+.4f}")]  # fmt: skip
    for value, color, style, label in marks:
        ax.axvline(value, color=color, linestyle=style, label=label)
    ax.legend(fontsize=8)
    ax.set_title(f"improvement in {primary}, {improvement.resamples} paired resamples")
    ax.set_xlabel("challenger minus champion (positive = better)")


def _per_class(ax, target, new: Predictions, old: Predictions | None, verdict) -> None:
    from sklearn.metrics import f1_score

    classes = np.unique(np.asarray(target))
    width = 0.4
    positions = np.arange(len(classes))
    ours = f1_score(target, new.labels, labels=classes, average=None, zero_division=0)
    ax.bar(positions - width / 2, ours, width, label=f"challenger v{verdict.challenger.version}",
           color="tab:orange")  # fmt: skip
    lowest = float(ours.min())
    if old is not None:
        theirs = f1_score(target, old.labels, labels=classes, average=None, zero_division=0)
        ax.bar(positions + width / 2, theirs, width, color="tab:blue",
               label=f"champion v{verdict.champion.version}")  # fmt: skip
        lowest = min(lowest, float(theirs.min()))
    ax.set_xticks(positions, [str(c) for c in classes])
    ax.set_ylim(max(0.0, lowest - 0.1), 1)  # the differences, not the bars' common base
    ax.set_title("F1 of each class on the holdout")
    ax.legend(fontsize=8)


def _errors(ax, target, new: Predictions, old: Predictions | None, verdict) -> None:
    truth = np.asarray(target, dtype=float)
    ours = np.abs(truth - np.asarray(new.labels, dtype=float))
    ax.hist(ours, bins=30, alpha=0.6, color="tab:orange",
            label=f"challenger v{verdict.challenger.version}")  # fmt: skip
    if old is not None:
        theirs = np.abs(truth - np.asarray(old.labels, dtype=float))
        ax.hist(theirs, bins=30, alpha=0.6, color="tab:blue",
                label=f"champion v{verdict.champion.version}")  # fmt: skip
    ax.set_title("absolute error on the holdout")
    ax.legend(fontsize=8)


def text_histogram(gains: np.ndarray, lower_bound: float, gate: float, width: int = 40) -> str:
    """The distribution in one line of block characters, for a job summary (which shows no
    image), and under it where the lower bound (L) and the gate (G) fall."""
    counts, edges = np.histogram(gains, bins=width)
    top = counts.max() or 1
    bars = "".join(BARS[int(c / top * (len(BARS) - 1) + 0.5)] for c in counts)
    left = f"{edges[0]:+.4f} "
    marks = [" "] * width
    for value, mark in ((lower_bound, "L"), (gate, "G")):
        if edges[0] <= value <= edges[-1]:
            at = min(int(np.searchsorted(edges, value, side="right")) - 1, width - 1)
            marks[at] = "*" if marks[at] != " " else mark
    return (f"{left}{bars} {edges[-1]:+.4f}\n{' ' * len(left)}{''.join(marks).rstrip()}\n"
            f"L: lower bound {lower_bound:+.4f}, G: gate {gate:+.4f}")  # fmt: skip


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
