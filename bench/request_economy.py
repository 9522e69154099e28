"""HTTP requests and wall time of the generated project's logging vs. tutorial-style logging.

Both sides log exactly the same content (params, metrics, tags, the two datasets, the model with
signature, input example and pip requirements) to a real basic-auth `mlflow server` on
127.0.0.1, through a counting proxy that can add latency per request (the tunnel):

- project:  `train()` and `tune()` of the baked project (batched calls, one model per tune);
- tutorial: one `set_tag` / `log_param` / `log_metric` call per value, `log_input` per dataset,
  and, in the tune, a model logged in every trial's run.

Run it with a baked project's interpreter (see docs/benchmarks.md):

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/request_economy.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import baked

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
warnings.filterwarnings("ignore")  # MLflow's schema hints would bury the figures


MODULES = (
    "data", "datasets", "process", "provenance", "runs", "search", "settings", "tracking_server",
    "train", "training", "tune",
)  # fmt: skip


def project_modules(project: Path) -> dict:
    """The baked package's modules, imported from the interpreter running this script."""
    return baked.modules(project, *MODULES)


class Bench:
    def __init__(self, project: Path, modules: dict, trials: int):
        self.m, self.trials = modules, trials
        # pictures off: the tutorial side draws none (they add two uploads per run with a model)
        loaded = modules["settings"].load_settings(project / "mlops.toml")
        self.base = loaded.replace("tracking", pictures=False)

    def settings(self, label: str):
        name = f"bench-{label}-{uuid.uuid4().hex[:6]}"
        return self.base.model_copy(
            update={
                "tracking": self.base.tracking.model_copy(
                    update={"experiment": name, "uri": os.environ["MLFLOW_TRACKING_URI"]}  # now
                )
            }
        )

    # --- the project's own code -----------------------------------------------------------

    def project_train(self, settings) -> None:
        self.m["train"].train(settings, {})

    def project_tune(self, settings) -> None:
        self.m["tune"].tune(settings, trials=self.trials, progress=False)

    # --- tutorial style: same content, one call per value, a model per trial ----------------

    def fitted_train(self, settings):
        split = self.m["data"].load_split(settings)
        return split, self.m["training"].fit_candidate(settings, split, {})

    def fitted_tune(self, settings):
        search = self.m["search"]
        space = search.parse_space(settings)
        combos = search.sample_trials(space, settings.tune.method, self.trials, settings.tune.seed)
        split = self.m["data"].load_split(settings)
        return split, space, search.fit_trials(settings, split, combos, progress=False)

    def tutorial_run(self, settings, split, candidate, tags, **run_args) -> None:
        import mlflow

        runs = self.m["runs"]
        example = split.x_train.head(runs.INPUT_EXAMPLE_ROWS)
        signature = mlflow.models.infer_signature(example, candidate.pipeline.predict(example))
        with mlflow.start_run(**run_args):
            for key, value in tags.items():
                mlflow.set_tag(key, value)
            for key, value in candidate.params.items():
                mlflow.log_param(key, value)
            datasets = self.m["datasets"]
            mlflow.log_input(datasets.as_dataset(split, "train"), context="training")
            mlflow.log_input(datasets.as_dataset(split, "holdout"), context="evaluation")
            for key, value in candidate.metrics.items():
                mlflow.log_metric(key, value)
            mlflow.sklearn.log_model(
                candidate.pipeline,
                name=runs.MODEL_NAME,
                input_example=example,
                signature=signature,
                pip_requirements=runs.pip_requirements(),
                skops_trusted_types=_trusted(candidate.pipeline),
            )

    def tutorial_train(self, settings, fitted) -> None:
        import mlflow

        split, candidate = fitted
        experiment = mlflow.set_experiment(settings.tracking.experiment).experiment_id
        tags = self.m["runs"].candidate_tags(settings, split)
        self.tutorial_run(settings, split, candidate, tags, experiment_id=experiment)

    def tutorial_tune(self, settings, fitted) -> None:
        import mlflow

        runs, tune, search = self.m["runs"], self.m["tune"], self.m["search"]
        split, space, trials = fitted
        experiment = mlflow.set_experiment(settings.tracking.experiment).experiment_id
        best = search.pick_best(trials, settings)
        parent_tags = self.m["provenance"].run_tags(settings.root, kind="tune")
        with mlflow.start_run(experiment_id=experiment):
            for key, value in parent_tags.items():
                mlflow.set_tag(key, value)
            found = search.Search(space, settings.tune.method, trials, best)
            for key, value in tune._search_params(settings, found).items():
                mlflow.log_param(key, value)
            for trial in trials:
                tags = runs.candidate_tags(settings, split, kind="trial")
                tags[tune.TRIAL_TAG] = str(trial.number)
                self.tutorial_run(
                    settings, split, trial.candidate, tags, experiment_id=experiment, nested=True
                )
            primary = settings.metric.primary
            mlflow.log_metric(f"best_{primary}", best.candidate.metrics[primary])


def _trusted(pipeline):
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(pipeline)) or None


def measure(proxy, action, *args) -> tuple[int, float]:
    before, started = proxy.total, time.perf_counter()
    action(*args)
    return proxy.total - before, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project (tools/dev_bake.sh)")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--delays-ms", default="0,100")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each train (median)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sys.path.insert(0, str(args.project.resolve()))
    from tests.http_proxy import Proxy  # the baked project's own tunnel stand-in

    modules = project_modules(args.project.resolve())
    bench = Bench(args.project.resolve(), modules, args.trials)
    server = modules["tracking_server"]
    root = Path(tempfile.mkdtemp(prefix="mlops-bench-"))
    paths = server.ServerPaths(root / "data", root / "artifacts")
    options = server.ServerSettings(port=modules["process"].free_port())
    password, _ = server.prepare(paths, options)
    rows = []
    with server.LocalServer(paths, options, password).start() as running:
        os.environ.update(MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD=password)
        os.environ["MLFLOW_TRACKING_URI"] = running.url
        warm_up(bench)
        for delay_ms in (int(d) for d in args.delays_ms.split(",")):
            with Proxy(running.url, delay=delay_ms / 1000) as proxy:
                os.environ["MLFLOW_TRACKING_URI"] = proxy.url
                rows += run_scenarios(bench, proxy, delay_ms, args.repeat)
    print_table(rows, args.trials)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


def warm_up(bench: Bench) -> None:
    """Import and first-call costs (MLflow's model flavour, skops...) are paid here, unmeasured."""
    settings = bench.settings("warm-up")
    bench.project_train(settings)
    bench.tutorial_train(settings, bench.fitted_train(settings))


def run_scenarios(bench: Bench, proxy, delay_ms: int, repeat: int) -> list[dict]:
    rows = []
    for what, project, fit, tutorial, times in (
        ("train", bench.project_train, bench.fitted_train, bench.tutorial_train, repeat),
        (f"tune {bench.trials}", bench.project_tune, bench.fitted_tune, bench.tutorial_tune, 1),
    ):
        mine, theirs = [], []
        for _ in range(times):
            settings = bench.settings("project")
            fit_started = time.perf_counter()
            fitted = fit(settings)
            fit_seconds = time.perf_counter() - fit_started
            requests, seconds = measure(proxy, project, settings)
            mine.append((requests, seconds, seconds - fit_seconds))
            requests, seconds = measure(proxy, tutorial, bench.settings("tutorial"), fitted)
            theirs.append((requests, seconds, seconds))
        rows += [row(what, "project", delay_ms, mine), row(what, "tutorial", delay_ms, theirs)]
        print(rows[-2], rows[-1], sep="\n", flush=True)
    return rows


def row(what: str, style: str, delay_ms: int, samples: list[tuple[int, float, float]]) -> dict:
    """The median of the repeats (requests do not vary; times do)."""
    requests, seconds, logging_seconds = (
        statistics.median(column) for column in zip(*samples, strict=True)
    )
    return {
        "scenario": what,
        "style": style,
        "delay_ms": delay_ms,
        "repeats": len(samples),
        "requests": int(requests),
        "wall_s": round(seconds, 2),
        "logging_s": round(logging_seconds, 2),
    }


def print_table(rows: list[dict], trials: int) -> None:
    print(
        "\n| scenario | delay | requests: project / tutorial (x fewer) "
        "| logging time: project / tutorial (x shorter) |"
    )
    print("|---|---|---|---|")
    for project, tutorial in zip(rows[::2], rows[1::2], strict=True):
        ratio_r = tutorial["requests"] / project["requests"]
        ratio_t = tutorial["logging_s"] / max(project["logging_s"], 1e-9)
        print(
            f"| {project['scenario']} | {project['delay_ms']} ms "
            f"| {project['requests']} / {tutorial['requests']} ({ratio_r:.1f}x) "
            f"| {project['logging_s']:.2f} s / {tutorial['logging_s']:.2f} s ({ratio_t:.1f}x) |"
        )


if __name__ == "__main__":
    main()
