"""`mlops serve` against `mlflow models serve` on the same champion: one-row requests per
second and their p50/p99 latency, then the longest gap in answers while `champion` moves.

A real basic-auth server of the baked project on 127.0.0.1 gets two registered versions (the
project's own `train` and `register-challenger`, twice) and `champion` on the first. Both
servers score the model's own logged example (one row, MLflow's `dataframe_split`):

- `mlflow models serve -m <the champion's verified files> --env-manager local` (one worker);
- `mlops serve --poll-seconds P` (MLflow's scoring app in one uvicorn process, following the
  alias).

Each gets `--requests` sequential requests from one keep-alive client (latency), then the same
number from `--clients` threads at once (throughput). Then, with a client posting throughout,
`champion` moves to the second version and back: the longest time between two answers, the
time until the new version answers, and the failed requests are reported.

    tools/dev_bake.sh /tmp/bench-bake
    cd /tmp/bench-bake/team-model && .venv/bin/python ~-/bench/serve_latency.py .
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import baked
import requests

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")


def versions(m: dict, project: Path, url: str):
    """Two registered versions, champion on the first; the settings and the MLflow client."""
    from mlflow import MlflowClient

    settings = m["settings"].load_settings(project / "mlops.toml", tracking_uri=url)
    name, (param, value) = settings.model.registered_name, next(iter(settings.model.params.items()))
    for params in ({param: value / 500}, {}):
        m["train"].train(settings, params)
        m["challenger"].register_challenger(settings, allow_dirty=True, newer_than_challenger=True)
    client = MlflowClient(tracking_uri=url)
    client.set_registered_model_alias(name, "champion", "1")
    return settings, client


def verified(m: dict, client, name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-model-"))
    return m["model_files"].fetch_verified(name, client.get_model_version(name, "1"), folder).folder


def started(args: list[str], env: dict, url: str, log: Path) -> subprocess.Popen:
    with log.open("w") as output:
        child = subprocess.Popen(args, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                return child
        except requests.RequestException:
            time.sleep(0.3)
    child.kill()
    raise SystemExit(f"{args[:3]} did not answer: {log.read_text()[-2000:]}")


def latencies(url: str, body: dict, count: int) -> list[float]:
    """Seconds per one-row request, sequential, one keep-alive connection."""
    taken = []
    with requests.Session() as session:
        for _ in range(count):
            begun = time.perf_counter()
            answer = session.post(f"{url}/invocations", json=body, timeout=30)
            taken.append(time.perf_counter() - begun)
            answer.raise_for_status()
    return taken


def throughput(url: str, body: dict, count: int, clients: int) -> float:
    """Requests per second with `clients` threads posting at once."""

    def share(n: int) -> None:
        latencies(url, body, n)

    begun = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(share, [count // clients] * clients))
    return (count // clients * clients) / (time.perf_counter() - begun)


def swap_gap(url: str, body: dict, client, name: str, poll: float) -> dict[str, float]:
    """Post throughout while champion moves 1 -> 2 -> 1: the longest gap between answers."""
    answers: list[tuple[float, str]] = []
    failures, stop = [0], threading.Event()

    def post() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    answer = session.post(f"{url}/invocations", json=body, timeout=30)
                except requests.RequestException:
                    failures[0] += 1
                    continue
                if answer.status_code != 200:
                    failures[0] += 1
                answers.append((time.perf_counter(), answer.headers.get("X-Model-Version", "")))

    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    seen = {}
    for version in ("2", "1"):
        time.sleep(2 * poll)
        moved = time.perf_counter()
        client.set_registered_model_alias(name, "champion", version)
        while not answers or answers[-1][1] != version:
            time.sleep(0.01)
        seen[version] = answers[-1][0] - moved
    time.sleep(poll)
    stop.set()
    poster.join(30)
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(answers)]
    return {
        "answers": len(answers), "failed": failures[0], "longest gap ms": max(gaps) * 1000,
        "median gap ms": statistics.median(gaps) * 1000,
        "promotion served after s": seen["2"], "rollback served after s": seen["1"],
    }  # fmt: skip


def summary(taken: list[float]) -> tuple[float, float, float]:
    ordered = sorted(taken)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return len(taken) / sum(taken), p(0.50), p(0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project (tools/dev_bake.sh)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    args = parser.parse_args()
    project = args.project.resolve()
    m = baked.modules(project, "challenger", "model_files", "process", "settings",
                      "tracking_server", "train")  # fmt: skip
    server, free_port = m["tracking_server"], m["process"].free_port
    root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    paths = server.ServerPaths(root / "data", root / "artifacts")
    options = server.ServerSettings(port=free_port())
    password, _ = server.prepare(paths, options)
    os.environ.update({"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": password,
                       "MLOPS_MODEL_CACHE": str(root / "model-cache")})  # fmt: skip
    rows = {}
    with server.LocalServer(paths, options, password).start() as running:
        settings, client = versions(m, project, running.url)
        name = settings.model.registered_name
        model = verified(m, client, name)
        body = json.loads((model / "serving_input_example.json").read_text(encoding="utf-8"))
        bin_ = project / ".venv" / "bin"  # first on PATH: `mlflow models serve` runs uvicorn
        env = {**os.environ, "MLFLOW_TRACKING_URI": running.url, "MLOPS_PROGRESS": "off",
               "PATH": f"{bin_}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
        ports = {"mlflow models serve": free_port(), "mlops serve": free_port()}
        commands = {
            "mlflow models serve": [str(bin_ / "mlflow"), "models", "serve", "-m", str(model),
                                    "--env-manager", "local", "-h", "127.0.0.1", "-p",
                                    str(ports["mlflow models serve"]), "--workers", "1"],
            "mlops serve": [str(bin_ / "mlops"), "--config", str(project / "mlops.toml"),
                            "serve", "--port", str(ports["mlops serve"]),
                            "--poll-seconds", str(args.poll_seconds)],
        }  # fmt: skip
        for way, command in commands.items():
            url = f"http://127.0.0.1:{ports[way]}"
            child = started(command, env, url, root / f"{way}.log")
            try:
                latencies(url, body, 50)  # warm-up: imports, first predict
                taken = latencies(url, body, args.requests)
                rows[way] = (*summary(taken), throughput(url, body, args.requests, args.clients))
                if way == "mlops serve":
                    gap = swap_gap(url, body, client, name, args.poll_seconds)
            finally:
                child.terminate()
                child.wait(60)
            print(f"{way}: {rows[way]}", file=sys.stderr)
    print(f"| server | sequential req/s | p50 ms | p99 ms | req/s, {args.clients} clients |")
    print("|---|---|---|---|---|")
    for way, (rate, p50, p99, parallel) in rows.items():
        print(f"| {way} | {rate:,.0f} | {p50:.1f} | {p99:.1f} | {parallel:,.0f} |")
    print(f"\nchampion moved 1 -> 2 -> 1 under load (poll {args.poll_seconds:g} s): "
          + ", ".join(f"{key} {value:,.2f}" for key, value in gap.items()))  # fmt: skip


if __name__ == "__main__":
    main()
