"""Where `mlops promote` spends its time, and how many HTTP requests it makes.

A real basic-auth server of the baked project on 127.0.0.1 gets a champion and a better
challenger (the project's own `train`, `register-challenger` and `promote`). Then
`mlops promote` runs as its own process under cProfile, through the project's counting proxy,
in three states, the first two as `--dry-run` (all the work, nothing moved), the last for real
(its request count is a whole promotion's: the record and the two alias moves included):

- sources, no model cache: every import compiled from source, as on a machine that keeps no
  `.pyc` (`PYTHONDONTWRITEBYTECODE=1` with an empty `PYTHONPYCACHEPREFIX`), the way the runner
  and the central PC ran before they synced with `--compile-bytecode`, and both models'
  files downloaded (`MLOPS_MODEL_CACHE=off`);
- bytecode, no model cache: the environment compiled once (`uv sync --compile-bytecode`, here
  `compileall`), files still downloaded;
- bytecode, model cache: as on the runner, whose `register-challenger` kept each model's
  verified files (`model_cache`): promote copies and re-checks them instead of downloading.

Phases are cProfile's cumulative times of: imports, the model files' download and check
(`fetch_verified`), loading (`load`), scoring and the bootstrap, and the registry calls.

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/promote_profile.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import compileall
import os
import pstats
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import baked

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

PHASES = {  # phase: (file name, function) pairs whose cumulative times add up to it
    "imports": [("<frozen importlib._bootstrap>", "_find_and_load")],
    "download and check": [("model_files.py", "fetch_verified")],
    "load": [("model_files.py", "load")],
    "score and bootstrap": [("metrics.py", "score"), ("paired_bootstrap.py", "paired_bootstrap")],
    "registry": [("client.py", "get_model_version_by_alias")],
    "draw and log the decision": [
        ("decision_picture.py", "draw"),
        ("decision_log.py", "log_decision"),
    ],
}


def modules(project: Path) -> dict:
    package = baked.package_name(project)
    names = ("challenger", "process", "promotion", "settings", "tracking_server", "train")
    found: dict = baked.modules(project, *names)
    found["package"] = package
    return found


def prepare(m: dict, project: Path, url: str) -> Path:
    """A champion and a better challenger on the server; the config file the verb reads."""
    settings = m["settings"].load_settings(project / "mlops.toml", tracking_uri=url)
    settings = settings.replace("promotion", min_value=None, confidence=0.95)
    name, value = next(iter(settings.model.params.items()))
    m["train"].train(settings, {name: value * 0.001})
    m["challenger"].register_challenger(settings)
    m["promotion"].promote(settings)
    m["train"].train(settings, {})
    m["challenger"].register_challenger(settings, newer_than_challenger=True)
    return project / "mlops.toml"


def profiled_promote(
    project: Path, config: Path, url: str, env: dict, dry_run: bool
) -> tuple[float, Path]:
    profile = Path(tempfile.mkdtemp(prefix="bench-profile-")) / "promote.prof"
    mlops = str(project / ".venv" / "bin" / "mlops")
    args = [sys.executable, "-m", "cProfile", "-o", str(profile), mlops, "--config", str(config),
            "--tracking-uri", url, "promote", *(["--dry-run"] if dry_run else [])]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"mlops promote failed: {result.stderr.strip()[-2000:]}")
    return wall, profile


def phases(profile: Path) -> dict[str, float]:
    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    return {
        phase: sum(
            cumulative
            for (file, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items()
            if (Path(file).name or file, function) in wanted or (file, function) in wanted
        )
        for phase, wanted in PHASES.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project (tools/dev_bake.sh)")
    parser.add_argument("--quick", action="store_true", help="only the compiled environment")
    args = parser.parse_args()
    project = args.project.resolve()
    sys.path.insert(0, str(project))
    from tests.http_proxy import Proxy  # the baked project's own tunnel stand-in

    m = modules(project)
    server = m["tracking_server"]
    root = Path(tempfile.mkdtemp(prefix="bench-promote-server-"))
    paths = server.ServerPaths(root / "data", root / "artifacts")
    options = server.ServerSettings(port=m["process"].free_port())
    password, _ = server.prepare(paths, options)
    login = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": password}
    os.environ.update(login)
    cache = os.environ["MLOPS_MODEL_CACHE"] = tempfile.mkdtemp(prefix="bench-model-cache-")
    rows = {}
    with server.LocalServer(paths, options, password).start() as running:
        config = prepare(m, project, running.url)
        with Proxy(running.url) as proxy:
            base = {**os.environ, **login, "PYTHONDONTWRITEBYTECODE": "1"}
            sources = {**base, "PYTHONPYCACHEPREFIX": tempfile.mkdtemp(prefix="no-pyc-")}
            if not args.quick:  # a quick run's bake was synced with --compile-bytecode
                compileall.compile_dir(sysconfig.get_paths()["purelib"], quiet=2, workers=0)
            no_cache = {"MLOPS_MODEL_CACHE": "off"}
            states = [
                ("sources, no model cache (dry run)", {**sources, **no_cache}, True),
                ("bytecode, no model cache (dry run)", {**base, **no_cache}, True),
                ("bytecode, model cache", {**base, "MLOPS_MODEL_CACHE": cache}, False),
            ][-1 if args.quick else 0 :]
            for state, env, dry_run in states:
                before = proxy.total
                wall, profile = profiled_promote(project, config, proxy.url, env, dry_run)
                rows[state] = {"wall_s": wall, "requests": proxy.total - before,
                               **phases(profile)}  # fmt: skip
    print("| environment | whole process (s) | requests | " + " | ".join(PHASES) + " |")
    print("|---" * (3 + len(PHASES)) + "|")
    for state, row in rows.items():
        cells = " | ".join(f"{row[phase]:.2f}" for phase in PHASES)
        print(f"| {state} | {row['wall_s']:.1f} | {row['requests']} | {cells} |")


if __name__ == "__main__":
    main()
