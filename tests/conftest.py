"""Session fixtures: each option set is baked once and shared by every test that needs it."""

from __future__ import annotations

import os
import random

import pytest

from .bakery import Bake, bake

NAMED = {
    "project_name": "Fraud Radar X",
    "description": "Flags suspicious payments before they settle.",
    "author": "Ada Lovelace",
    "github_owner": "acme-ml",
    "primary_metric": "roc_auc",
    "min_metric_value": "0.9",
    "experiment_name": "fraud radar experiments",
    "registered_model_name": "fraud-radar-model",
    "tracking_uri": "http://127.0.0.1:5050",
    "tunnel_domain": "acme-fraud.ngrok-free.app",
    "runner_label": "gpu-box-7",
    "license": "Apache-2.0",
}

OPTION_SETS = {
    "default": {},
    "regression": {"task": "regression"},
    "cloudflared": {"tunnel": "cloudflared", "license": "BSD-3-Clause"},
    "no-tunnel": {"tunnel": "none", "license": "Proprietary", "python_version": "3.10"},
    "csv": {"project_name": "Churn", "target_column": "label"},
    "named": NAMED,
}


def pytest_configure(config) -> None:
    """Interpreters come from the machine: a bake never downloads one (network rule)."""
    os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")


def write_tiny_csv(path) -> None:
    """A small, learnable two-class table: label = 1 when a + b is large."""
    rng = random.Random(0)
    rows = ["a,b,c,label"]
    for _ in range(240):
        a, b, c = rng.uniform(0, 1), rng.uniform(0, 1), rng.randint(0, 9)
        rows.append(f"{a:.4f},{b:.4f},{c},{int(a + b + rng.gauss(0, 0.1) > 1)}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


class Bakery:
    def __init__(self, root):
        self.root = root
        self.bakes: dict[str, Bake] = {}

    def __call__(self, name: str) -> Bake:
        if name not in self.bakes:
            answers = dict(OPTION_SETS[name])
            if name == "csv":
                write_tiny_csv(self.root / "churn.csv")
                answers["dataset"] = str(self.root / "churn.csv")
            self.bakes[name] = bake(self.root / name, **answers)
        return self.bakes[name]


@pytest.fixture(scope="session")
def bakery(tmp_path_factory) -> Bakery:
    return Bakery(tmp_path_factory.mktemp("bakes"))
