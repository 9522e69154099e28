#!/usr/bin/env bash
# Print the exact steps that register this repository's self-hosted GitHub Actions runner on the
# central PC, with the label the workflows ask for. It only prints: every step that needs an
# administrator or a secret (sudo, the registration token) stays in your hands.
#   bash scripts/setup-runner.sh [--os linux|macos|windows] [--user NAME] [--dir PATH]
set -euo pipefail

REPO="{{ cookiecutter.github_owner }}/{{ cookiecutter.project_slug }}"
LABEL="{{ cookiecutter.runner_label }}"
SERVER_URL="{{ cookiecutter.tracking_uri }}"
RUNNER_USER="github-runner"
RUNNER_DIR=""

case "$(uname -s 2>/dev/null || echo unknown)" in
  Linux) OS=linux ;;
  Darwin) OS=macos ;;
  MINGW* | MSYS* | CYGWIN*) OS=windows ;;
  *) OS=linux ;;
esac

usage() { echo "usage: bash scripts/setup-runner.sh [--os linux|macos|windows] [--user NAME] [--dir PATH]"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --os | --user | --dir)
      if [ $# -lt 2 ]; then echo "setup-runner: $1 needs a value" >&2; exit 2; fi ;;
  esac
  case "$1" in
    --os) OS="$2"; shift 2 ;;
    --user) RUNNER_USER="$2"; shift 2 ;;
    --dir) RUNNER_DIR="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup-runner: unknown option $1 ($(usage))" >&2; exit 2 ;;
  esac
done
case "$OS" in
  linux | macos | windows) ;;
  *) echo "setup-runner: --os must be linux, macos or windows, not '$OS'" >&2; exit 2 ;;
esac
if [ -z "$RUNNER_USER" ]; then
  echo "setup-runner: --user needs a name" >&2
  exit 2
fi

print_rules() {
  cat <<EOF
Self-hosted runner for $REPO, label '$LABEL'

Security rules (read them first):
  1. The repository is private. A self-hosted runner on a public repository can be made to run
     anyone's code.
  2. No pull-request jobs on this runner: the registry workflows run only on pushes to main and by
     hand, and check github.ref == refs/heads/main. Keep it that way; ci.yml (pull requests) runs
     on GitHub-hosted runners. Settings > Actions > General: leave 'Run workflows from fork pull
     requests' off.
  3. The runner runs as its own unprivileged OS user ('$RUNNER_USER'): no sudo/administrator,
     not the user that runs the tracking server, so jobs cannot read the server's data dir
     (admin password, secret key).
  4. The workflows log in as the MLflow user of role ci (READ on the experiment, EDIT on the
     registered model): uv run mlops server add-user github-ci --role ci
  5. Branch protection on main: pull requests with a review and the CI checks, no force pushes.
     GitHub Free has none for private repositories: there, everyone with write access can run
     code on this PC. Keep writers few, or use GitHub Pro/Team (docs/runner.md, rule 3).

EOF
}

print_unix() {
  local platform="linux-x64" home="/home/$RUNNER_USER" service="sudo ./svc.sh install $RUNNER_USER"
  if [ "$OS" = macos ]; then
    platform="osx-arm64   # osx-x64 on an Intel Mac"
    home="/Users/$RUNNER_USER"
    service="./svc.sh install   # a LaunchAgent of $RUNNER_USER (log in as that user)"
  fi
  local dir="${RUNNER_DIR:-$home/actions-runner}"
  cat <<EOF
Steps (Linux/macOS):

  # 1. A dedicated user, with uv and a cache that stays between jobs
  sudo useradd --create-home --shell /bin/bash $RUNNER_USER     # macOS: System Settings > Users
  sudo -iu $RUNNER_USER sh -c 'curl -LsSf https://astral.sh/uv/install.sh | sh'

  # 2. The runner itself, as $RUNNER_USER (versions: https://github.com/actions/runner/releases)
  sudo -iu $RUNNER_USER
  mkdir -p $dir && cd $dir
  VERSION=\$(curl -fsSL https://api.github.com/repos/actions/runner/releases/latest | sed -n 's/.*"tag_name": "v\([^"]*\)".*/\1/p')
  PLATFORM=$platform
  curl -fsSLo runner.tar.gz "https://github.com/actions/runner/releases/download/v\$VERSION/actions-runner-\$PLATFORM-\$VERSION.tar.gz"
  tar xzf runner.tar.gz

  # 3. Register it (the token is valid one hour; an admin of the repository creates it):
  #    Settings > Actions > Runners > New self-hosted runner, or:
  #    gh api -X POST repos/$REPO/actions/runners/registration-token --jq .token
  ./config.sh --url https://github.com/$REPO --labels $LABEL --unattended --token <TOKEN>

  # 4. Jobs find uv, and keep uv's cache (locked dependencies install in seconds)
  echo "UV_CACHE_DIR=$home/.cache/uv" >> .env
  echo "$home/.local/bin:/usr/local/bin:/usr/bin:/bin" > .path
  exit

  # 5. Run it as a service, started at boot
  cd $dir && $service
  sudo ./svc.sh start

EOF
}

print_windows() {
  local dir="${RUNNER_DIR:-C:\\actions-runner}"
  cat <<EOF
Steps (Windows, PowerShell as administrator):

  # 1. A dedicated standard user (not an administrator), and uv for it
  net user $RUNNER_USER * /add        # asks for its password
  runas /user:$RUNNER_USER "powershell -c irm https://astral.sh/uv/install.ps1 | iex"

  # 2. The runner (versions: https://github.com/actions/runner/releases)
  mkdir $dir; cd $dir
  \$v = (irm https://api.github.com/repos/actions/runner/releases/latest).tag_name.TrimStart('v')
  Invoke-WebRequest -OutFile runner.zip "https://github.com/actions/runner/releases/download/v\$v/actions-runner-win-x64-\$v.zip"
  Expand-Archive runner.zip -DestinationPath .
  icacls $dir /grant "${RUNNER_USER}:(OI)(CI)M"

  # 3. Register it as a service running as $RUNNER_USER (token: Settings > Actions > Runners >
  #    New self-hosted runner, or: gh api -X POST repos/$REPO/actions/runners/registration-token --jq .token)
  .\\config.cmd --url https://github.com/$REPO --labels $LABEL --unattended --token <TOKEN> --runasservice --windowslogonaccount .\\$RUNNER_USER --windowslogonpassword <ITS PASSWORD>

  # 4. Jobs find uv, and keep uv's cache
  Add-Content .env "UV_CACHE_DIR=C:\\Users\\$RUNNER_USER\\.cache\\uv"
  Set-Content .path "C:\\Users\\$RUNNER_USER\\.local\\bin;C:\\Windows\\System32;C:\\Windows"
  Restart-Service "actions.runner.*"

EOF
}

print_check() {
  cat <<EOF
Then:
  - Repository secrets (Settings > Secrets and variables > Actions): MLFLOW_TRACKING_URI=$SERVER_URL
    (the server on this PC, no tunnel), MLFLOW_TRACKING_USERNAME=github-ci, MLFLOW_TRACKING_PASSWORD.
  - Check: gh workflow run register-challenger.yml -f dry-run=true
    The run must be picked up by the runner labelled '$LABEL' and print the decision.
More: docs/runner.md and docs/central-pc.md.
EOF
}

print_rules
if [ "$OS" = windows ]; then print_windows; else print_unix; fi
print_check
