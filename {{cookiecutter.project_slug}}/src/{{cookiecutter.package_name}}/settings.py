"""Load and validate `mlops.toml`, the project's single settings file.

Precedence: command-line flag > MLflow's own environment variables > `mlops.toml` > defaults.
Credentials never live in the file: MLflow reads `MLFLOW_TRACKING_USERNAME` and
`MLFLOW_TRACKING_PASSWORD` from the environment itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .choices import (
    GREATER_IS_BETTER,
    METRIC_RANGES,
    METRICS,
    TASK_OF,
    Task,
    range_text,
    within_range,
)
from .errors import BadInput
from .process import ALL_INTERFACES
from .variables import CONFIG_ENV

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef, unused-ignore]

CONFIG_FILE = "mlops.toml"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def server_url_problem(uri: str) -> str | None:
    """Why `uri` is not the address of a tracking server (the project always talks to one
    over HTTP), or None."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not the http(s) address of a tracking server (e.g. http://127.0.0.1:5000)"
    return None


class TrackingSettings(_Section):
    uri: str = "http://127.0.0.1:5000"
    experiment: str = Field(min_length=1)
    pictures: bool = True
    """Draw the pictures of each run that keeps a model (`ml/pictures.py`): two more requests
    and a few seconds of drawing; false skips them."""

    @property
    def decisions_experiment(self) -> str:
        """Where promote logs each decision: beside the team's experiment, not in it, so the
        CI user may write there without ever being able to log a candidate run."""
        return f"{self.experiment}-decisions"

    @field_validator("uri")
    @classmethod
    def _a_server_url(cls, value: str) -> str:
        problem = server_url_problem(value)
        if problem:
            raise ValueError(f"{value!r} {problem}")
        return value


class DataSettings(_Section):
    source: str = Field(min_length=1, description="sklearn:<name> or a CSV path")
    target: str = "target"
    test_size: float = Field(default=0.25, gt=0, lt=1)
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    drop: list[str] = []
    """Columns never used as features: ids, free text, anything that leaks the target."""
    categorical: list[str] = []
    """Columns to treat as categories although they hold numbers (text and bool already are)."""
    max_categories: int = Field(default=50, ge=2, le=1000)
    """Distinct values a categorical column may have; more is refused (an id or free text?)."""
    cv_folds: int = Field(default=5, ge=2, le=20)
    """Folds of the cross-validation on the training part that ranks candidates."""
    id: list[str] = []
    """Columns that identify a row: the split hashes them (else the row's content), and they
    are never features. Name them and an edited row keeps its part."""

    @model_validator(mode="after")
    def _target_is_not_a_feature_setting(self) -> DataSettings:
        for key in ("drop", "categorical", "id"):
            if self.target in getattr(self, key):
                raise ValueError(f"{key} lists the target column {self.target!r}")
        return self


class ModelSettings(_Section):
    registered_name: str = Field(min_length=1)
    estimator: str = Field(pattern=r"^sklearn\.[\w.]+\.\w+$")
    params: dict[str, Any] = {}


class MetricSettings(_Section):
    primary: str
    greater_is_better: bool


class PromotionSettings(_Section):
    min_value: float | None = None
    min_improvement: float = Field(default=0.0, ge=0)
    min_relative_improvement: float = Field(default=0.0, ge=0, le=1)
    confidence: float = Field(default=0.0, ge=0, lt=1)
    """Paired bootstrap on the holdout: the lower bound of the improvement at this confidence
    must exceed `min_improvement`; 0 = compare point scores only."""
    bootstrap_resamples: int = Field(default=1000, ge=100, le=100_000)
    approvers: list[str] = []

    @field_validator("confidence")
    @classmethod
    def _meaningful_confidence(cls, value: float) -> float:
        if 0 < value < 0.5:
            raise ValueError("use 0 (off) or a confidence of at least 0.5, e.g. 0.95")
        return value


class TuneSettings(_Section):
    method: Literal["grid", "random"] = "random"
    trials: int = Field(default=20, ge=1, le=1000)
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    space: dict[str, Any] = {}


def local_url(host: str, port: int) -> str:
    """Where this PC reaches a server of its own: one on every interface answers on 127.0.0.1."""
    return f"http://{'127.0.0.1' if host in ALL_INTERFACES else host}:{port}"


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=5000, ge=1, le=65535)
    data_dir: str = ".mlops/server"
    artifacts_dir: str = ".mlops/artifacts"
    backup_dir: str = ".mlops/backups"
    keep_backups: int = Field(default=7, ge=1)
    workers: int = Field(default=1, ge=1, le=16)
    auth_cache_ttl_seconds: int = Field(default=60, ge=0)
    login_attempts: int = Field(default=5, ge=1)
    startup_timeout_s: float = Field(default=300, gt=0)
    """How long `mlops server start` waits for the server to answer while its process lives (a
    first start on a busy PC compiles MLflow's imports and migrates the DB)."""
    allowed_hosts: list[str] = []
    artifacts_destination: str = ""
    """Empty: the `artifacts_dir` folder. To scale out: `s3://bucket/prefix` (AWS S3, Cloudflare
    R2, MinIO), credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and, for R2 or MinIO,
    MLFLOW_S3_ENDPOINT_URL (never in this file)."""
    backend_store_uri: str = ""
    """Empty: sqlite in `data_dir`. To scale out: `postgresql://user@host:5432/mlflow`, with the
    password in `PGPASSWORD` (never in this file)."""

    @property
    def url(self) -> str:
        return local_url(self.host, self.port)

    @field_validator("backend_store_uri")
    @classmethod
    def _no_password_in_uri(cls, value: str) -> str:
        if value and urlsplit(value).password:
            raise ValueError("keep the database password out of mlops.toml: set PGPASSWORD")
        if value and not value.startswith(("postgresql", "sqlite:")):
            raise ValueError("use a postgresql:// (or sqlite:) URI, or leave it empty")
        return value

    @field_validator("artifacts_destination")
    @classmethod
    def _bucket_uri(cls, value: str) -> str:
        if value and not (value.startswith("s3://") and urlsplit(value).netloc):
            raise ValueError("use s3://BUCKET/PREFIX, or leave it empty for artifacts_dir")
        if urlsplit(value).password or urlsplit(value).username:
            raise ValueError("keep keys out of mlops.toml: set AWS_ACCESS_KEY_ID and friends")
        return value


class TunnelSettings(_Section):
    provider: Literal["ngrok", "cloudflared", "none"] = "none"
    domain: str = ""


class ServeSettings(_Section):
    """`mlops serve`: where the champion answers, and how often it looks for a new one."""

    host: str = "127.0.0.1"
    """Beyond 127.0.0.1 every request must carry the bearer token in MLOPS_SERVE_TOKEN."""
    port: int = Field(default=5001, ge=1, le=65535)
    poll_seconds: float = Field(default=30, gt=0)
    """How often the alias is read: a promotion or rollback is served within this and a load."""

    @property
    def url(self) -> str:
        return local_url(self.host, self.port)


class MonitorSettings(_Section):
    """`mlops monitor`: when new data counts as drifted, and the champion as decayed."""

    alpha: float = Field(default=0.01, gt=0, lt=1)
    """A column drifts only if its chi-square test rejects "same distribution as in training" at
    this level, Bonferroni-corrected over the columns: at most this share of batches drawn from
    the training population raise a false alarm."""
    min_psi: float = Field(default=0.1, ge=0)
    """... and its population stability index (on the reference's bins) reaches this: a
    difference large enough to matter, however many rows the batch has."""
    max_decay: float = Field(default=0.01, ge=0)
    """The primary metric may fall this far (absolute) below the champion's holdout score
    before it is decay; only the bootstrap interval's far end counts (rows with the target)."""
    confidence: float = Field(default=0.95, gt=0, lt=1)
    bootstrap_resamples: int = Field(default=1000, ge=100, le=100_000)


class Settings(_Section):
    """Everything `mlops.toml` holds, validated; `root` is the folder the file lives in."""

    task: Task
    tracking: TrackingSettings
    data: DataSettings
    model: ModelSettings
    metric: MetricSettings
    promotion: PromotionSettings = PromotionSettings()
    tune: TuneSettings = TuneSettings()
    server: ServerSettings = ServerSettings()
    serve: ServeSettings = ServeSettings()
    monitor: MonitorSettings = MonitorSettings()
    tunnel: TunnelSettings = TunnelSettings()
    root: Path = Path(".")

    @model_validator(mode="after")
    def _metric_fits_task(self) -> Settings:
        name = self.metric.primary
        if TASK_OF.get(name) != self.task:
            allowed = ", ".join(METRICS[self.task])
            raise ValueError(
                f"[metric] primary = {name!r} is not a {self.task} metric (allowed: {allowed})"
            )
        if GREATER_IS_BETTER[name] != self.metric.greater_is_better:
            raise ValueError(
                f"[metric] greater_is_better must be {str(GREATER_IS_BETTER[name]).lower()} "
                f"for {name}"
            )
        floor = self.promotion.min_value
        if floor is not None and not within_range(name, floor):
            # a gate no model can pass would block every promotion without saying why
            raise ValueError(
                f"[promotion] min_value = {floor:g} can never be met: {name} "
                f"{range_text(*METRIC_RANGES[name])}"
            )
        return self

    def replace(self, section: str, **values: Any) -> Settings:
        """A copy with some keys of one section changed (settings are frozen)."""
        changed = getattr(self, section).model_copy(update=values)
        return self.model_copy(update={section: changed})

    def resolve(self, path: str) -> Path:
        """A path from the file, relative to the folder of `mlops.toml`."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    @property
    def tracking_uri(self) -> str:
        """Resolved once, by `load_settings`: a copy made with `replace` is what it says."""
        return self.tracking.uri


def find_config(start: Path | None = None) -> Path:
    """`$MLOPS_CONFIG`, else the nearest `mlops.toml` from the working directory upwards."""
    if os.environ.get(CONFIG_ENV):
        chosen = Path(os.environ[CONFIG_ENV])
        if chosen.is_dir():
            raise BadInput(f"{CONFIG_ENV}={chosen} is a folder: name the {CONFIG_FILE} file in it")
        return chosen
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE
    raise BadInput(f"no {CONFIG_FILE} found in {here} or its parents (set {CONFIG_ENV})")


def check_owner(config: Path) -> None:
    """Refuse another project's `mlops.toml`: two baked projects installed in one environment
    (a Colab runtime, a shared venv) both install an `mlops` script, and the last one wins."""
    ours, source = __package__ or "", config.resolve().parent / "src"
    if not source.is_dir() or (source / ours).is_dir():
        return
    theirs = sorted(found.parent.name for found in source.glob("*/cli.py"))
    if theirs:
        raise BadInput(
            f"{config} belongs to {theirs[0]}, but this `mlops` is {ours}'s (two projects share "
            f"this environment): run `python -m {theirs[0]}`, or `uv run mlops` in that project"
        )


def load_settings(path: Path | None = None, tracking_uri: str | None = None) -> Settings:
    """Read and validate the file; any problem becomes one `BadInput` line naming the key.

    The tracking URI is resolved here, once: the `--tracking-uri` flag, else MLflow's own
    `MLFLOW_TRACKING_URI`, else `[tracking] uri`.
    """
    path = path or find_config()
    check_owner(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # Notepad's BOM is fine
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}") from None
    try:
        settings = Settings.model_validate({**raw, "root": path.resolve().parent})
    except ValidationError as exc:
        raise BadInput(f"{path}: {_first_error(exc)}") from None
    uri = tracking_uri or os.environ.get(TRACKING_URI_ENV)
    problem = server_url_problem(uri) if uri else None
    if problem:
        given = "--tracking-uri" if tracking_uri else TRACKING_URI_ENV
        raise BadInput(f"{given} = {uri!r} {problem}")
    return settings.replace("tracking", uri=uri) if uri else settings


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
