#!/usr/bin/env bash
# Copy ruff-formatted files of a bake back into the template, for files without Jinja syntax.
#   tools/sync_back.sh /tmp/mybake/team-model team_model
set -euo pipefail
template="$(cd "$(dirname "$0")/.." && pwd)/{{cookiecutter.project_slug}}"
project="$1"; package="$2"
cd "$project"
find src tests -name '*.py' | while read -r f; do
  t="$template/${f//$package/\{\{cookiecutter.package_name\}\}}"
  if [ -f "$t" ] && ! grep -q -e '{{' -e '{%' "$t" && ! cmp -s "$f" "$t"; then
    cp "$f" "$t" && echo "updated $t"
  fi
done
