"""The `mlops` command: parse arguments, call the modules, map every outcome to an exit code.

| code | meaning                                   |
|------|-------------------------------------------|
| 0    | done, or nothing to do                    |
| 1    | a gate said no                            |
| 2    | bad input, config or state                |
| 3    | the tracking server cannot be used        |
| 4    | unexpected error (traceback in a file)    |
| 130  | interrupted (Ctrl-C): nothing half-done   |
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__, progress
from .errors import BadInput, GateRefused, MlopsError, is_disk_full, printable
from .tracking.mlflow_environment import QUIET, environment, quiet_libraries, unless_set
from .variables import DRY_RUN_ENV

if TYPE_CHECKING:
    from .settings import Settings

UNEXPECTED = 4


def load_settings(config: Path | None, tracking_uri: str | None) -> Settings:
    """The settings, read when a verb needs them: `--help` and `--version` never load pydantic
    or NumPy."""
    from .settings import load_settings as load

    return load(config, tracking_uri)


class Context:
    """Lazily loaded settings, so `--help` works without an `mlops.toml`."""

    def __init__(self, config: Path | None, tracking_uri: str | None):
        self.config, self.tracking_uri = config, tracking_uri
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config, self.tracking_uri)
        return self._settings


pass_context = click.make_pass_decorator(Context)

WORKFLOW_ORDER = (
    "demo", "train", "tune", "upload-pending", "register-challenger", "promote", "rollback",
    "status", "predict", "monitor", "serve", "doctor", "server", "tunnel",
    "start", "add-user", "set-role", "set-password", "remove-user", "backup", "restore", "gc",
    "upgrade", "migrate",
)  # fmt: skip


class InWorkflowOrder(click.Group):
    """`mlops --help` lists the verbs in the order a team uses them, each with its whole line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        rank = {name: i for i, name in enumerate(WORKFLOW_ORDER)}
        return sorted(self.commands, key=lambda name: rank.get(name, len(rank)))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.commands[name].get_short_help_str(limit=200))
                for name in self.list_commands(ctx)]  # fmt: skip
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _version_line() -> str:
    return f"%(prog)s %(version)s (MLflow {version('mlflow')}, {sys.executable})"


@click.group(
    cls=InWorkflowOrder,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", message=_version_line())
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Settings file (default: the nearest mlops.toml).",
)
@click.option(
    "--tracking-uri", help="Tracking server URL (default: $MLFLOW_TRACKING_URI, then mlops.toml)."
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None, tracking_uri: str | None) -> None:
    """Train, track, register and promote the team's model with a self-hosted MLflow."""
    ctx.obj = Context(config, tracking_uri)


@cli.command()
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a model parameter from mlops.toml (repeatable).",
)
@click.option("--run-name", help="Name of the run in the MLflow UI.")
@click.option(
    "--like",
    type=click.Choice(["champion", "challenger", "previous-champion"]),
    help="Start from the parameters of that version's run (e.g. retrain the champion on new "
    "data); --set still overrides them.",
)
@pass_context
def train(ctx: Context, overrides: tuple[str, ...], run_name: str | None, like: str | None) -> None:
    """Fit the model, evaluate it on the holdout and log one run."""
    with progress.step("train: loading MLflow, fitting, scoring and logging the run"):
        from .experiments.retrain import params_like
        from .experiments.train import train as run_training
        from .ml.cross_validation import scores_line
        from .ml.model import parse_overrides

        params = params_like(ctx.settings, like) if like else {}
        params.update(parse_overrides(overrides))
        result = run_training(ctx.settings, params, run_name)
    click.echo(f"run {result.run_id}: {scores_line(ctx.settings.metric.primary, result.metrics)}")
    click.echo(f"model {result.model_uri}")
    click.echo(f"view it at {result.url}")


@cli.command()
@pass_context
def status(ctx: Context) -> None:
    """Show the registered model's aliases, versions, metrics and source runs."""
    with progress.step("status: loading MLflow, checking each version's files"):
        from .inference import serve_state
        from .registry.status import status as registry_status

        report = registry_status(ctx.settings)
    click.echo(report.text)
    for state in serve_state.running(ctx.settings.resolve(serve_state.STATE_DIR)):
        click.echo(state.line())
    if report.refusal:
        raise BadInput(report.refusal)


def read_password(prompt: str = "Password") -> str:
    """From a hidden prompt on a terminal, else the first line of stdin; never from argv."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


# --- experiments (Colab, laptops) -------------------------------------------------------------


@cli.command()
@click.option("--trials", type=click.IntRange(1), help="Number of candidates (default: [tune]).")
@click.option("--method", type=click.Choice(["grid", "random"]), help="Search method.")
@click.option("--run-name", help="Name of the parent run in the MLflow UI.")
@pass_context
def tune(ctx: Context, trials: int | None, method: str | None, run_name: str | None) -> None:
    """Search hyperparameters: one parent run, a child run per candidate, one model logged."""
    from .experiments.tune import tune as run_tuning
    from .ml.cross_validation import scores_line

    result = run_tuning(ctx.settings, trials, method, run_name, progress=sys.stderr.isatty())
    scores = scores_line(ctx.settings.metric.primary, result.best.candidate.metrics)
    click.echo(f"tune {result.parent_run_id}: {len(result.trials)} trials, view it at {result.url}")
    click.echo(f"best: trial {result.best.number} {result.best.searched}, {scores}")
    click.echo(f"best run {result.best_run_id}, model {result.model_uri}")


@cli.command(name="upload-pending")
@pass_context
def upload_pending(ctx: Context) -> None:
    """Upload runs saved locally while the tracking server was unreachable."""
    from .experiments.pending import pending_dir, upload_all

    uploaded = upload_all(ctx.settings)
    if not uploaded:
        click.echo(f"nothing to upload in {pending_dir(ctx.settings)}")
    for item in uploaded:
        done = "was already on the server" if item.already_there else "uploaded"
        click.echo(f"{item.folder.name} {done}: run {item.run_id}, view it at {item.url}")


# --- the registry (GitHub Actions on the central PC, or by hand) ------------------------------


@cli.command(name="register-challenger")
@click.option(
    "--dry-run", is_flag=True, envvar=DRY_RUN_ENV, help="Print the decision; change nothing."
)
@click.option("--newer-than-challenger", is_flag=True, help="Only runs newer than the challenger.")
@click.option("--git-commit", help="Only runs made from this git commit.")
@click.option("--min-value", type=float, help="Minimum the candidate must reach.")
@click.option("--any-data", is_flag=True, help="Also runs trained on older data.")
@click.option(
    "--allow-dirty", is_flag=True, help="Also runs made from uncommitted mlops.toml or src/."
)
@pass_context
def register_challenger(
    ctx: Context,
    dry_run: bool,
    newer_than_challenger: bool,
    git_commit: str | None,
    min_value: float | None,
    any_data: bool,
    allow_dirty: bool,
) -> None:
    """Register the best finished training run as the 'challenger'."""
    with progress.step("register-challenger: loading MLflow, searching runs, vetting the model"):
        from .registry.candidate_search import CandidateFilter
        from .registry.challenger import register_challenger as register

        registration = register(
            ctx.settings,
            CandidateFilter(git_commit=git_commit),
            newer_than_challenger=newer_than_challenger,
            min_value=min_value,
            dry_run=dry_run,
            any_data=any_data,
            allow_dirty=allow_dirty,
        )
    if registration.summary(ctx.settings):
        click.echo(registration.summary(ctx.settings))
    if registration.refusal:
        raise GateRefused(registration.refusal)


@cli.command()
@click.option(
    "--dry-run",
    is_flag=True,
    envvar=DRY_RUN_ENV,
    help="Evaluate and print the verdict; move nothing.",
)
@click.option(
    "--without-champion",
    is_flag=True,
    help="Only when the champion cannot be compared fairly (another split): judge the "
    "challenger by [promotion] min_value alone.",
)
@pass_context
def promote(ctx: Context, dry_run: bool, without_champion: bool) -> None:
    """Move 'champion' to the challenger if every gate in [promotion] holds."""
    with progress.step("promote: loading MLflow, the data and both models, scoring"):
        from .registry.promotion import promote as run_promotion

        verdict = run_promotion(ctx.settings, dry_run=dry_run, without_champion=without_champion)
    if verdict.challenger_scores:
        click.echo(verdict.text())
    if not verdict.passed:
        raise GateRefused(verdict.outcome)
    click.echo(verdict.outcome)


@cli.command()
@click.option(
    "--dry-run", is_flag=True, envvar=DRY_RUN_ENV, help="Print what would move; move nothing."
)
@pass_context
def rollback(ctx: Context, dry_run: bool) -> None:
    """Put the previous champion back."""
    with progress.step("rollback: loading MLflow, checking the previous champion's files"):
        from .registry.rollback import rollback as run_rollback

        moved = run_rollback(ctx.settings, dry_run=dry_run)
    click.echo(moved)


@cli.command()
@click.option("--keep-server", is_flag=True, help="Leave the demo server running at the end.")
@pass_context
def demo(ctx: Context, keep_server: bool) -> None:
    """Run the whole lifecycle on a local throw-away server (sqlite, basic-auth, 127.0.0.1)."""
    with progress.step("demo: loading MLflow"):
        from .demo import CLOSING_WORDS, keep_serving
        from .demo import demo as run_demo

    result = run_demo(ctx.settings, keep_server=keep_server, echo=click.echo)
    if keep_server:
        keep_serving(result, click.echo)
    else:
        click.echo(CLOSING_WORDS)


# --- the central PC ------------------------------------------------------------------------------


@cli.command()
@pass_context
def doctor(ctx: Context) -> None:
    """Check config, server, credentials, permissions, tunnel, allowed hosts and disk space.

    One line per check (ok, FAIL with the fix, or skip); exits with the worst failure's code.
    """
    from .doctor import config_failure, diagnose
    from .errors import BadInput, ServerUnavailable
    from .tracking.probes import worst

    try:
        checks = [*diagnose(ctx.settings)]
    except BadInput as exc:
        checks = [config_failure(str(exc))]
    for verdict in checks:
        click.echo(verdict.line())
    failures = [v for v in checks if v.status == "FAIL"]
    if failures:
        error = ServerUnavailable if worst(checks) == ServerUnavailable.exit_code else BadInput
        raise error(f"doctor: {len(failures)} of {len(checks)} checks failed (see above)")


@cli.group(cls=InWorkflowOrder)
def server() -> None:
    """Run and administer the team's tracking server (on the central PC)."""


@server.command(name="start")
@click.option("--host", help="Interface to listen on (default: [server] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: [server] port).")
@click.option("--data-dir", type=click.Path(path_type=Path), help="DBs and secrets (local disk).")
@click.option("--artifacts-dir", type=click.Path(path_type=Path), help="Artifacts folder.")
@pass_context
def server_start(
    ctx: Context,
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    artifacts_dir: Path | None,
) -> None:
    """Start `mlflow server --app-name <package>-guard` in the foreground (Ctrl-C stops it).

    On first start the admin password comes from $MLFLOW_AUTH_ADMIN_PASSWORD, or is generated,
    shown once on a terminal and stored (0600) in the data dir.
    """
    with progress.step("server start: loading MLflow"):
        from .central_pc.tracking_server import serve_forever

    serve_forever(
        ctx.settings, host, port, data_dir, artifacts_dir, click.echo, sys.stdout.isatty()
    )


@server.command(name="add-user")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(["reader", "member", "ci"]), default="member", show_default=True
)
@pass_context
def server_add_user(ctx: Context, name: str, role: str) -> None:
    """Create a user (password from a prompt, or stdin) and grant the role's permissions.

    reader: READ on the experiment and the model; member: EDIT on the experiment (log runs);
    ci: READ on the experiment, EDIT on the model (register, move aliases) and on the
    decisions experiment (promote's records). All three read the decisions experiment.
    """
    password = read_password(f"Password for {name}")
    with progress.step(f"add-user: loading MLflow, creating {name!r} and its grants"):
        from .central_pc.users import add_user

        done = add_user(ctx.settings, name, role, password)
    click.echo(done)


@server.command(name="set-role")
@click.argument("name")
@click.option("--role", type=click.Choice(["reader", "member", "ci"]), required=True)
@pass_context
def server_set_role(ctx: Context, name: str, role: str) -> None:
    """Give an existing user a role's grants (a new role, or grants a project upgrade added)."""
    with progress.step(f"set-role: loading MLflow, granting {role} to {name!r}"):
        from .central_pc.users import set_role

        done = set_role(ctx.settings, name, role)
    click.echo(done)


@server.command(name="set-password")
@click.argument("name")
@pass_context
def server_set_password(ctx: Context, name: str) -> None:
    """Change a user's password (read from a prompt, or stdin)."""
    password = read_password(f"New password for {name}")
    with progress.step("set-password: loading MLflow"):
        from .central_pc.users import set_password

        done = set_password(ctx.settings, name, password)
    click.echo(done)


@server.command(name="remove-user")
@click.argument("name")
@pass_context
def server_remove_user(ctx: Context, name: str) -> None:
    """Delete a user and their permissions."""
    with progress.step("remove-user: loading MLflow"):
        from .central_pc.users import remove_user

        done = remove_user(ctx.settings, name)
    click.echo(done)


@server.command(name="backup")
@click.option("--to", "destination", type=click.Path(path_type=Path), help="Backup folder.")
@click.option("--keep", type=click.IntRange(1), help="How many backups to keep (default: 7).")
@pass_context
def server_backup(ctx: Context, destination: Path | None, keep: int | None) -> None:
    """Consistent online copy of the sqlite DBs (sqlite's backup API) into a folder.

    Safe while the server runs. Default folder: [server] backup_dir; keeps the newest
    [server] keep_backups. Secrets and artifacts are not copied.
    """
    from .central_pc.backup import backup

    folder, removed = backup(ctx.settings, destination, keep)
    click.echo(f"backup written to {folder}")
    for old in removed:
        click.echo(f"removed the older backup {old.name}")


@server.command(name="restore")
@click.argument("backup", type=click.Path(path_type=Path))
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where to restore.")
@pass_context
def server_restore(ctx: Context, backup: Path, data_dir: Path | None) -> None:
    """Restore a backup into the data dir; refuses while a server uses it."""
    from .central_pc.backup import restore

    click.echo(restore(ctx.settings, backup, data_dir))


@server.command(name="gc")
@click.option("--older-than-days", type=float, default=30.0, show_default=True,
              help="Unregistered models younger than this are kept.")  # fmt: skip
@click.option("--apply", is_flag=True, help="Delete for real (the default only lists).")
@pass_context
def server_gc(ctx: Context, older_than_days: float, apply: bool) -> None:
    """Free the files of deleted runs and of old models no version was registered from."""
    from .central_pc.gc import collect

    found, removed = collect(ctx.settings, older_than_days, apply)
    if removed:
        click.echo(f"removed {found.summary()}")
    elif apply or not (found.runs or found.models):
        click.echo(f"nothing to remove: {found.summary()}")
    else:
        click.echo(f"would remove {found.summary()}: run again with --apply")


@server.command(name="upgrade")
@pass_context
def server_upgrade(ctx: Context) -> None:
    """After an MLflow upgrade: back up, upgrade the sqlite schema, verify (the server stopped)."""
    from .central_pc.upgrade import upgrade

    click.echo(upgrade(ctx.settings))


@server.command(name="migrate")
@click.argument("target_uri")
@pass_context
def server_migrate(ctx: Context, target_uri: str) -> None:
    """Copy the sqlite history into an empty PostgreSQL database (the server stopped).

    TARGET_URI is postgresql://USER@HOST:PORT/DB, the password in PGPASSWORD. Then set
    [server] backend_store_uri to it and start the server; the sqlite file is left as it was.
    """
    from .central_pc.migrate import migrate

    copied = migrate(ctx.settings, target_uri)
    counts = ", ".join(f"{copied[t]} {t}" for t in ("experiments", "runs", "model_versions"))
    click.echo(f"copied {sum(copied.values())} rows ({counts}) into PostgreSQL")
    click.echo(f'next: set backend_store_uri = "{target_uri}" under [server] in mlops.toml')


@cli.command()
@pass_context
def tunnel(ctx: Context) -> None:
    """Publish the tracking server through the configured tunnel and check it from outside.

    Runs until Ctrl-C. ngrok needs NGROK_AUTHTOKEN and [tunnel] domain; cloudflared a named
    tunnel's TUNNEL_TOKEN (or a quick tunnel); none publishes nothing.
    """
    from .central_pc.tunnel import publish_server

    publish_server(ctx.settings, click.echo)


@cli.command()
@click.argument("source", type=click.Path(path_type=Path), metavar="INPUT")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Where the predictions go: .csv or .parquet (written whole, or not at all).",
)
@click.option(
    "--alias",
    type=click.Choice(["champion", "challenger", "previous-champion"]),
    default="champion",
    show_default=True,
    help="The model to score with.",
)
@click.option(
    "--version",
    "version_number",
    type=click.IntRange(1),
    help="A version number instead of an alias.",
)
@click.option(
    "--keep",
    default="",
    metavar="COLUMNS",
    help="Input columns to copy into the output, comma-separated (ids, say).",
)
@click.option("--proba", is_flag=True, help="Add one probability column per class.")
@click.option(
    "--no-record", is_flag=True, help="Log no run of the batch (a reader's credential cannot)."
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(1),
    default=50_000,
    show_default=True,
    help="Rows scored at a time: memory stays flat whatever the file's size.",
)
@pass_context
def predict(ctx: Context, source: Path, output: Path, alias: str, version_number: int | None,
            keep: str, proba: bool, no_record: bool, chunk_rows: int) -> None:  # fmt: skip
    """Score a CSV or Parquet file with the verified champion (or --alias / --version)."""
    with progress.step("predict: loading MLflow"):
        from .inference.predict import PredictRequest
        from .inference.predict import predict as score_file

    kept = tuple(column.strip() for column in keep.split(",") if column.strip())
    request = PredictRequest(
        source, output, alias, version_number, kept, proba, not no_record, chunk_rows
    )
    with progress.counter("predict") as show:
        done = score_file(ctx.settings, request, show)
    click.echo(
        f"{done.rows:,} rows scored by {done.model} version {done.version} "
        f"(files {done.digest[:12]}, verified) in {done.seconds:.1f} s -> {done.output}"
    )
    click.echo(f"which model made it: {done.output.name}.model.json"
               + (f"; run {done.run_id}" if done.run_id else ""))  # fmt: skip


@cli.command()
@click.argument("source", type=click.Path(path_type=Path), metavar="INPUT")
@click.option("--alias", default="champion", show_default=True,
              help="The alias whose version (and reference profile) is checked.")  # fmt: skip
@click.option(
    "--no-record", is_flag=True, help="Log no run of the check (a reader's credential cannot)."
)
@click.option("--chunk-rows", type=click.IntRange(1), default=50_000, show_default=True,
              help="Rows read at a time: memory stays flat whatever the file's size.")  # fmt: skip
@pass_context
def monitor(ctx: Context, source: Path, alias: str, no_record: bool, chunk_rows: int) -> int:
    """Compare a CSV or Parquet batch with the champion's training data (drift) and, when it
    holds the target, score the champion on it (decay); exit 1 beyond [monitor] thresholds."""
    with progress.step("monitor: loading MLflow"):
        from .monitoring.monitor import MonitorRequest, drift_table
        from .monitoring.monitor import monitor as check_batch

    request = MonitorRequest(source, alias, not no_record, chunk_rows)
    with progress.counter("monitor") as show:
        watched = check_batch(ctx.settings, request, show)
    click.echo(drift_table(watched).text())
    if watched.decay is not None:
        state = "DECAY" if watched.decay.decayed else "ok"
        click.echo(f"\n{state}: {watched.decay.line()}")
    click.echo(f"\n{watched.verdict()}" + (f" (run {watched.run_id})" if watched.run_id else ""))
    return 1 if watched.alarm else 0


@cli.command()
@click.option("--host", help="Interface to listen on (default: [serve] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: [serve] port, 5001).")
@click.option("--poll-seconds", type=click.FloatRange(min=0, min_open=True),
              help="How often to read the alias (default: [serve] poll_seconds, 30).")  # fmt: skip
@pass_context
def serve(ctx: Context, host: str | None, port: int | None, poll_seconds: float | None) -> None:
    """Serve models:/<name>@champion, following the alias: a promotion or rollback is served
    within poll_seconds, with no restart and no failed request.

    Runs until Ctrl-C. Beyond 127.0.0.1 (or behind a tunnel) set MLOPS_SERVE_TOKEN.
    """
    with progress.step("serve: loading MLflow"):
        from .central_pc.model_server import serve_champion

    chosen = {"host": host, "port": port, "poll_seconds": poll_seconds}
    options = ctx.settings.serve.model_copy(
        update={key: value for key, value in chosen.items() if value is not None}
    )
    serve_champion(ctx.settings, options, click.echo)


def _write_traceback() -> Path:
    """A traceback can hold paths, names and data: a 0600 file with an unpredictable name, in a
    folder of this OS user's own (0700), so another user can neither read nor pre-create it."""
    folder = Path(tempfile.gettempdir()) / f"mlops-errors-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.is_symlink() or folder.stat().st_uid != os.getuid():
        folder = Path(tempfile.mkdtemp(prefix="mlops-errors-"))
    os.chmod(folder, 0o700)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    fd, name = tempfile.mkstemp(prefix=f"error-{stamp}-", suffix=".log", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(traceback.format_exc())
    return Path(name)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mlops` console script; returns the exit code.

    Files it writes (pending runs, cached models, backups, the server's data) are for this OS
    user only: 0600 files in 0700 folders."""
    os.umask(0o077)
    quiet_libraries()
    with environment(unless_set(QUIET)):  # before MLflow's import, which reads its level
        return _dispatch(argv)


def _dispatch(argv: list[str] | None) -> int:
    """Run the verb; every failure ends in one line on stderr and its exit code."""
    if any("\0" in arg for arg in argv or ()):  # no shell passes one; a caller in Python can
        _say("an argument contains a NUL character (see mlops --help)")
        return BadInput.exit_code
    try:
        result = cli.main(args=argv, prog_name="mlops", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        _say("aborted")
        return 130
    except click.ClickException as exc:
        _say(f"{exc.format_message()} (see mlops --help)")
        return 2
    except MlopsError as exc:
        _say(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except OSError as exc:
        if not is_disk_full(exc):
            return _unexpected(exc)
        where = Path(exc.filename).parent if exc.filename else "a folder this command writes to"
        _say(f"no space left in {where}: free space, then run this again")
        return BadInput.exit_code
    except Exception as exc:
        return _unexpected(exc)
    return result if isinstance(result, int) else 0


def _unexpected(exc: Exception) -> int:
    path = _write_traceback()
    _say(f"unexpected error: {type(exc).__name__}: {exc} (traceback: {path})")
    return UNEXPECTED


def _say(message: str) -> None:
    """The one line a failed command leaves on stderr."""
    click.echo(f"mlops: {printable(message)}", err=True)


if __name__ == "__main__":
    sys.exit(main())
