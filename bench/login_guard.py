"""What failed logins cost the team's server: MLflow's `basic-auth` alone vs the project's
`team-guard` (basic-auth plus back-off and an equal-cost check for unknown names).

For each app, a real `mlflow server` on 127.0.0.1 started with the baked project's own code:

- the answer time of a wrong password for an existing user and for an unknown name (each from
  a fresh X-Forwarded-For address, as tunnel clients arrive, so no back-off applies);
- a member's request time (p50) alone, then while six attackers send wrong passwords from one
  address, 8 requests a second in all (the rate at which the probe in issue #10 made a
  member's requests 6x slower).

Run it with a baked project's interpreter (see docs/benchmarks.md):

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/login_guard.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import baked
import requests


def timed(url: str, auth, headers=None) -> tuple[float, int]:
    started = time.perf_counter()
    status = requests.get(url, auth=auth, headers=headers or {}, timeout=60).status_code
    return (time.perf_counter() - started) * 1000, status


def p50(values: list[float]) -> float:
    return statistics.median(values)


def measure(server, users, samples: int) -> dict[str, float]:
    url = f"{server.url}/api/2.0/mlflow/experiments/search?max_results=1"
    member = users["member"]
    fresh = lambda: {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}  # noqa: E731
    tries = 8  # fewer than the per-name allowance (2 x login_attempts): no back-off yet
    known = [timed(url, (member[0], "wrong-pass"), fresh())[0] for _ in range(tries)]
    unknown = [timed(url, (f"nobody-{i}", "wrong-pass"), fresh())[0] for i in range(tries)]
    alone = [timed(url, member)[0] for _ in range(samples)]
    stop = threading.Event()
    attacks = []

    def attack():
        while not stop.is_set():
            attacks.append(timed(url, ("admin", "guess"), {"X-Forwarded-For": "203.0.113.66"})[1])
            stop.wait(6 / 8)  # six attackers, 8 requests/s in all

    threads = [threading.Thread(target=attack) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(5)  # let the back-off reach its stride
    under_attack = [timed(url, member)[0] for _ in range(samples)]
    stop.set()
    for thread in threads:
        thread.join()
    return {
        "wrong password, known user (ms)": p50(known),
        "wrong password, unknown user (ms)": p50(unknown),
        "member alone (ms)": p50(alone),
        "member under attack (ms)": p50(under_attack),
        "attack requests that cost a password check (%)": 100
        * attacks.count(401)
        / max(1, len(attacks)),
    }


def run(project: Path, app: str, samples: int) -> dict[str, float]:
    """`app` is basic-auth, or the project's guard (`<package>-guard`) for "team-guard"."""
    sys.path.insert(0, str(project / "src"))
    m = baked.modules(project, "tracking_server", "server_launcher", "users", "settings", "process")
    server_mod, launcher, users_mod = m["tracking_server"], m["server_launcher"], m["users"]
    settings_mod = m["settings"]
    if app == "basic-auth":  # else the project's own guard app, as `mlops server start` runs it
        launcher.APP_NAME = app  # what `tracking_server.launch_command` passes to --app-name
    root = Path(tempfile.mkdtemp(prefix="bench-login-"))
    paths = server_mod.ServerPaths(root / "data", root / "artifacts")
    port = m["process"].free_port()
    options = server_mod.ServerSettings(port=port)
    password, _ = server_mod.prepare(paths, options)
    with server_mod.LocalServer(paths, options, password).start() as server:
        settings = settings_mod.load_settings(project / "mlops.toml")
        settings = settings.replace("tracking", uri=server.url)
        settings = settings.replace(
            "server", port=options.port, data_dir=str(paths.data_dir),
            artifacts_dir=str(paths.artifacts_dir),
        )  # fmt: skip
        member_password = "bench-" + uuid.uuid4().hex
        users_mod.add_user(settings, "bench-member", "member", member_password)
        return measure(server, {"member": ("bench-member", member_password)}, samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    results = {app: run(args.project, app, args.samples) for app in ("basic-auth", "team-guard")}
    print("| figure | basic-auth alone | team-guard |")
    print("|---|---|---|")
    for key in results["basic-auth"]:
        print(f"| {key} | {results['basic-auth'][key]:.0f} | {results['team-guard'][key]:.0f} |")


if __name__ == "__main__":
    main()
