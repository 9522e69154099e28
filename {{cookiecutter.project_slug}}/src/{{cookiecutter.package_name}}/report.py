"""Tables that read well in a terminal and as Markdown in a GitHub job summary."""

from __future__ import annotations

import os
from pathlib import Path


class Table:
    def __init__(self, headers: list[str]):
        self.headers = headers
        self.rows: list[list[str]] = []

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def text(self) -> str:
        """Aligned columns for a terminal."""
        widths = [
            max(len(row[i]) for row in [self.headers, *self.rows]) for i in range(len(self.headers))
        ]
        lines = [self.headers, ["-" * width for width in widths], *self.rows]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines
        )

    def markdown(self) -> str:
        lines = [self.headers, ["---"] * len(self.headers), *self.rows]
        return "\n".join("| " + " | ".join(row) + " |" for row in lines)


def write_step_summary(markdown: str) -> Path | None:
    """Append to `$GITHUB_STEP_SUMMARY` when running in GitHub Actions; None elsewhere."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as summary:
        summary.write(markdown.rstrip() + "\n\n")
    return path
