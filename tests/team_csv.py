"""CSVs as teams bring them, written with the standard library (the template's environment has
no pandas): numbers, a text category, a bool, an id column and missing values."""

from __future__ import annotations

import csv
import random
from pathlib import Path

REGIONS = {"east": 1.2, "west": -0.6, "north": 0.4, "south": -1.0}
HEADER = ["customer_id", "tenure_months", "monthly_spend", "region", "promo", "outcome"]


def write_team_csv(path: Path, task: str, rows: int = 300, seed: int = 0) -> Path:
    """Classification: outcome yes/no; regression: outcome a value. About 1 in 12 cells of
    `monthly_spend` and of `region` is empty."""
    rng = random.Random(seed)
    records = []
    for i in range(rows):
        tenure, spend = rng.gammavariate(2.0, 12.0), rng.gauss(50, 15)
        region, promo = rng.choice(list(REGIONS)), rng.random() < 0.5
        signal = 0.04 * tenure - 0.03 * spend + REGIONS[region] + 0.8 * promo
        signal += rng.gauss(0, 0.4)
        records.append([f"c{i:05d}", round(tenure, 1), round(spend, 2), region, promo, signal])
    middle = sorted(r[-1] for r in records)[rows // 2]
    for record in records:
        signal = record[-1]
        record[-1] = (
            ("yes" if signal > middle else "no")
            if task == "classification"
            else (round(signal * 10 + 100, 2))
        )
        if rng.random() < 1 / 12:
            record[2] = ""
        if rng.random() < 1 / 12:
            record[3] = ""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(records)
    return path
