"""What the central PC's tracking server holds in memory: `mlops server start` (the `mlops`
wrapper and every process it starts) against `mlflow server --app-name basic-auth` with MLflow's
defaults (4 uvicorn workers, the job runner on), both on 127.0.0.1 with sqlite.

Memory is the sum of the resident set (RSS, from /proc) of the whole process tree, read once
the server answers /health and once more after 20 authenticated requests.

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/footprint.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tree(pid: int) -> list[int]:
    """The process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024


def measure(args: list[str], env: dict[str, str], url: str, auth: tuple[str, str],
            cwd: Path) -> dict:  # fmt: skip
    process = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        started = time.monotonic()
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() - started > 300:
                raise SystemExit(f"{args[0]} did not start")
            time.sleep(0.5)
        ready_s = time.monotonic() - started
        idle = tree(process.pid)
        idle_mb = rss_mb(idle)
        for _ in range(20):
            requests.get(f"{url}/api/2.0/mlflow/experiments/search?max_results=5", auth=auth,
                         timeout=30)  # fmt: skip
        busy = tree(process.pid)
        return {"processes": len(busy), "idle_mb": idle_mb, "busy_mb": rss_mb(busy),
                "ready_s": ready_s}  # fmt: skip
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project (tools/dev_bake.sh)")
    parser.add_argument("--quick", action="store_true", help="only `mlops server start`")
    args = parser.parse_args()
    project, python = args.project.resolve(), Path(sys.executable)
    password = secrets.token_urlsafe(18)
    env = {**os.environ, "MLFLOW_AUTH_ADMIN_PASSWORD": password}
    rows = {}
    root = Path(tempfile.mkdtemp(prefix="bench-footprint-"))
    port = free_port()
    rows["mlops server start"] = measure(
        [str(python.with_name("mlops")), "--config", str(project / "mlops.toml"), "server",
         "start", "--port", str(port), "--data-dir", str(root / "ours"),
         "--artifacts-dir", str(root / "ours-artifacts")],
        env, f"http://127.0.0.1:{port}", ("admin", password), root,
    )  # fmt: skip
    port = free_port()
    (root / "default").mkdir()
    rows["mlflow server (defaults)"] = {} if args.quick else measure(
        [str(python), "-m", "mlflow", "server", "--app-name", "basic-auth", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'default' / 'mlflow.db'}"],
        {**env, "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)},
        f"http://127.0.0.1:{port}", ("admin", password), root / "default",
    )  # fmt: skip
    print("| server | processes | RSS idle (MB) | RSS after 20 requests (MB) | ready after (s) |")
    print("|---|---|---|---|---|")
    for name, row in rows.items():
        if not row:
            continue
        print(f"| {name} | {row['processes']} | {row['idle_mb']:.0f} | {row['busy_mb']:.0f} "
              f"| {row['ready_s']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
