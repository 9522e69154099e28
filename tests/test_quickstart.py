"""The README's main job: a fresh bake runs its whole lifecycle with `uv run mlops demo`."""

from __future__ import annotations

import re
import socket
import stat

import pytest

from .bakery import tool

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("option_set", ["default", "regression"])
def test_the_demo_shows_the_whole_lifecycle(bakery, option_set):
    project = bakery(option_set)
    project.sync()
    result = project.run(tool("uv"), "run", "--frozen", "mlops", "demo", check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "registered version 1" in out and "version 1 is now champion" in out
    assert "registered version 2" in out and "champion stays: gate min_improvement failed" in out
    assert re.search(r"^\s*champion\s+1\s", out, re.M)
    assert "UI:" not in out, "no link to a server the demo has stopped"
    assert "mlops demo --keep-server" in out
    port = re.search(r"tracking server at http://127\.0\.0\.1:(\d+)", out)
    assert port, out
    password_file = project.path / ".mlops" / "demo" / "server" / "admin_password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password_file.read_text(encoding="utf-8").strip() not in out
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(port.group(1)))) != 0, "the server was left up"
