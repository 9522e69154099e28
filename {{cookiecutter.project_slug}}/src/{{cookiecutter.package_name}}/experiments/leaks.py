"""Find what must never be committed in a notebook: outputs, credentials and tunnel addresses.

A notebook run on Colab holds the team's tunnel URL and maybe a password in its outputs, and a
hurried cell may hold a token. `nbstripout` removes outputs on commit; this scan is the check
behind it (in the tests and as a pre-commit hook): `python -m <package>.leaks FILE...`.
A password or token written as a literal in a cell is ruff's to find (`S105`-`S107`, on in
`pyproject.toml`; the ruff hook checks notebooks too): this scan keeps what no linter knows,
tunnel addresses, credentials inside URLs, GitHub tokens, and whatever outputs hold.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

LEAKS = {
    "an ngrok tunnel URL": re.compile(r"[\w-]+\.ngrok(?:-free)?\.(?:app|dev|io)\b", re.I),
    "a Cloudflare quick-tunnel URL": re.compile(r"[\w-]+\.trycloudflare\.com\b", re.I),
    "a password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:[^/\s@'\"]+@", re.I),
    "a GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})"),
}


@dataclass(frozen=True)
class Finding:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def scan_text(text: str, where: str) -> list[Finding]:
    """Every leak pattern found in a piece of text (each kind reported once)."""
    return [Finding(where, what) for what, pattern in LEAKS.items() if pattern.search(text)]


def scan_notebook(notebook: dict, name: str = "notebook") -> list[Finding]:
    """Outputs, execution counts, and leaks in any cell's source."""
    findings = []
    for number, cell in enumerate(notebook.get("cells", []), 1):
        where = f"{name} cell {number}"
        if cell.get("outputs"):
            findings.append(Finding(where, "has outputs (run nbstripout)"))
        if cell.get("execution_count") is not None:
            findings.append(Finding(where, "has an execution count (run nbstripout)"))
        texts = [cell.get("source", "")]
        for output in cell.get("outputs", []):
            texts += [output.get("text", ""), *output.get("data", {}).values()]
        findings += scan_text("\n".join(_text(t) for t in texts), where)
    return findings


def _text(value) -> str:
    """Notebook text is a string or a list of lines; rich outputs may be JSON objects."""
    if isinstance(value, list):
        return "".join(str(line) for line in value)
    return value if isinstance(value, str) else json.dumps(value)


def scan_file(path: Path) -> list[Finding]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return scan_notebook(json.loads(text), str(path))
    return scan_text(text, str(path))


def main(argv: list[str] | None = None) -> int:
    """Pre-commit entry point: print each finding, exit 1 if there is any."""
    findings = [
        f for arg in (argv if argv is not None else sys.argv[1:]) for f in scan_file(Path(arg))
    ]
    for finding in findings:
        print(finding, file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
