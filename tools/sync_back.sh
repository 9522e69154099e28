#!/usr/bin/env bash
# Copy ruff-formatted files of a bake back into the template. Only the files you name are copied
# (paths relative to the bake), and only if they hold no Jinja in the template: a bake is a
# snapshot, and copying everything would undo changes made to the template since.
#   tools/sync_back.sh /tmp/mybake/team-model team_model src/team_model/registry.py ...
set -euo pipefail
template="$(cd "$(dirname "$0")/.." && pwd)/{{cookiecutter.project_slug}}"
project="$1"; package="$2"; shift 2
[ "$#" -gt 0 ] || { echo "name the files to copy back" >&2; exit 2; }
cd "$project"
for f in "$@"; do
  t="$template/${f//$package/\{\{cookiecutter.package_name\}\}}"
  if [ ! -f "$t" ]; then echo "no template file for $f" >&2; continue; fi
  if grep -q -e '{{' -e '{%' "$t"; then echo "skipped $f: the template file has Jinja" >&2; continue; fi
  cmp -s "$f" "$t" || { cp "$f" "$t" && echo "updated $t"; }
done
