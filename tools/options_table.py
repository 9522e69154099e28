"""Print the README's options table from `cookiecutter.json`, so the docs cannot drift.

uv run python tools/options_table.py      # paste between the README's options markers
"""

from __future__ import annotations

import json
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]


def _prompt(prompts: dict, key: str) -> str:
    prompt = prompts.get(key, "")
    text = prompt["__prompt__"] if isinstance(prompt, dict) else prompt
    return text.replace("|", "\\|")


def _default(value) -> str:
    if isinstance(value, list):
        return " \\| ".join(f"`{choice}`" for choice in value)
    if "{{" in str(value) or "{%" in str(value):
        return "derived (see question)"
    return f"`{value}`" if value != "" else "(empty)"


def options_table() -> str:
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    prompts = config.get("__prompts__", {})
    rows = ["| option | question | default / choices |", "|---|---|---|"]
    for key, value in config.items():
        if not key.startswith("_"):
            rows.append(f"| `{key}` | {_prompt(prompts, key)} | {_default(value)} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(options_table())
