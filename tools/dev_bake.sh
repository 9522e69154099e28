#!/usr/bin/env bash
# Developer loop: bake the template into DIR (answers as KEY=VALUE), sync it, and optionally run
# its tests. Template files with Jinja cannot be formatted in place: format the bake, then copy
# plain-Python files back with tools/sync_back.sh.
#   tools/dev_bake.sh /tmp/mybake [task=regression ...]
set -euo pipefail
template="$(cd "$(dirname "$0")/.." && pwd)"
out="$1"; shift
rm -rf "$out" && mkdir -p "$out"
"$template/.venv/bin/cookiecutter" --no-input -o "$out" "$template" "$@" >/dev/null
project="$(find "$out" -mindepth 1 -maxdepth 1 -type d | head -1)"
(cd "$project" && env -u VIRTUAL_ENV uv sync --quiet --group test)
echo "$project"
