"""A team's CSV as it really comes: numbers, text categories, a bool, an id, missing values.

The target follows the project's task: churn yes/no (text labels) or a monthly value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TARGET = "outcome"
ID_COLUMN = "customer_id"
REGION_EFFECT = {"east": 1.2, "west": -0.6, "north": 0.4, "south": -1.0}


def mixed_frame(task: str, rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(list(REGION_EFFECT), rows)
    tenure = rng.gamma(2.0, 12.0, rows).round(1)
    spend = rng.normal(50, 15, rows).round(2)
    promo = rng.choice([True, False], rows)
    signal = (
        0.04 * tenure - 0.03 * spend + np.vectorize(REGION_EFFECT.get)(region) + 0.8 * promo
        + rng.normal(0, 0.4, rows)
    )  # fmt: skip
    frame = pd.DataFrame({
        ID_COLUMN: [f"c{i:05d}" for i in range(rows)],
        "tenure_months": tenure,
        "monthly_spend": spend,
        "region": region,
        "promo": promo,
    })  # fmt: skip
    if task == "classification":
        frame[TARGET] = np.where(signal > np.median(signal), "yes", "no")
    else:
        frame[TARGET] = (signal * 10 + 100).round(2)
    frame.loc[rng.choice(rows, rows // 12, replace=False), "monthly_spend"] = np.nan
    frame = frame.astype({"region": object})
    frame.loc[rng.choice(rows, rows // 12, replace=False), "region"] = np.nan
    return frame


def write_mixed_csv(folder: Path, task: str, rows: int = 300, seed: int = 0) -> Path:
    path = folder / "customers.csv"
    mixed_frame(task, rows, seed).to_csv(path, index=False)
    return path


def mixed_settings(settings, folder: Path, **data):
    """The settings pointed at a fresh mixed CSV, with the id column dropped."""
    path = write_mixed_csv(folder, settings.task)
    values = {"source": str(path), "target": TARGET, "drop": [ID_COLUMN], **data}
    return settings.replace("data", **values)


def raw_rows() -> pd.DataFrame:
    """What a client sends to the served model: a missing number, a missing category and a
    region never seen in training."""
    return pd.DataFrame({
        "tenure_months": [12.0, None, 30.5],
        "monthly_spend": [None, 40.0, 55.0],
        "region": ["east", None, "atlantis"],
        "promo": [True, False, True],
    })  # fmt: skip
