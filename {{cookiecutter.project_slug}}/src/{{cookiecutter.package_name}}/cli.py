"""The `mlops` command: parse arguments, call the modules, map every outcome to an exit code.

| code | meaning                                   |
|------|-------------------------------------------|
| 0    | done, or nothing to do                    |
| 1    | a gate said no                            |
| 2    | bad input, config or state                |
| 3    | the tracking server cannot be used        |
| 4    | unexpected error (traceback in a file)    |
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import click

from .errors import MlopsError
from .settings import Settings, load_settings

UNEXPECTED = 4


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@pass_context
def train(ctx: Context, overrides: tuple[str, ...], run_name: str | None) -> None:
    """Fit the model, evaluate it on the holdout and log one run."""
    from .model import parse_overrides
    from .train import train as run_training

    result = run_training(ctx.settings, parse_overrides(overrides), run_name)
    primary = ctx.settings.metric.primary
    click.echo(f"run {result.run_id}: {primary} = {result.metrics[primary]:.4f}")
    click.echo(f"model {result.model_uri}")
    click.echo(f"view it at {result.url}")


@cli.command()
@pass_context
def status(ctx: Context) -> None:
    """Show the registered model's aliases, versions, metrics and source runs."""
    from .registry import status as registry_status

    click.echo(registry_status(ctx.settings))


def _not_yet(name: str, summary: str) -> click.Command:
    @click.command(name=name, help=f"{summary} (not yet available).")
    def command() -> None:
        raise MlopsError(f"`mlops {name}` is not yet available in this version")

    return command


for _name, _summary in [
    ("tune", "Search hyperparameters: one parent run, a child run per candidate"),
    ("upload-pending", "Upload runs saved locally while the server was unreachable"),
    ("register-challenger", "Register the best run as the 'challenger'"),
    ("promote", "Move 'champion' to the challenger if the gates hold"),
    ("rollback", "Put the previous champion back"),
    ("demo", "Run the whole lifecycle on a local throw-away server"),
    ("doctor", "Check config, server, credentials, permissions and tunnel"),
    ("tunnel", "Publish the tracking server through the configured tunnel"),
    ("serve", "Serve the champion model on 127.0.0.1"),
]:
    cli.add_command(_not_yet(_name, _summary))


def _quiet_libraries() -> None:
    """Library chatter would bury the one line a failing command prints; set before importing
    MLflow, which reads its logging level at import time."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")
    warnings.filterwarnings("ignore", category=FutureWarning)


def _write_traceback() -> Path:
    path = Path(tempfile.gettempdir()) / f"mlops-error-{time.strftime('%Y%m%d-%H%M%S')}.log"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mlops` console script; returns the exit code."""
    _quiet_libraries()
    try:
        result = cli.main(args=argv, prog_name="mlops", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("mlops: aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"mlops: {exc.format_message()} (see mlops --help)", err=True)
        return 2
    except MlopsError as exc:
        click.echo(f"mlops: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("mlops: interrupted", err=True)
        return 130
    except Exception as exc:
        path = _write_traceback()
        click.echo(
            f"mlops: unexpected error: {type(exc).__name__}: {exc} (traceback: {path})", err=True
        )
        return UNEXPECTED
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
