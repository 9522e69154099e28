"""A registered model's files: vetted and fingerprinted at registration, verified before any load.

Two attacks from inside the team shape this module. A member can log a candidate whose model is
a pickle (or a skops file whose MLmodel lists dangerous types as trusted): loading it would run
the member's code on the runner or the central PC. And a member can overwrite the files of any
model in the experiment through the artifact proxy, after it was judged. So:

- register-challenger registers only skops models whose every type is in `TRUSTED_TYPES`, with no
  custom code, and records a digest of every file on the version;
- promote, rollback, serve and status download the files, check the digest, and load only from
  that verified local copy, with this module's list of trusted types (never the list in MLmodel,
  which whoever logged the model wrote).

Files that matched their digest are kept in `model_cache`, so promote and serve download a model
once per machine; a cached copy is checked against the pinned digest exactly like a download.
"""

from __future__ import annotations

import hashlib
import pkgutil
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow.artifacts
import yaml
from mlflow.entities.model_registry import ModelVersion

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

from ..errors import BadInput
from . import model_cache
from .tag_keys import MODEL_FILES_DIGEST_TAG

TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.tree._tree.Tree",
)
"""What skops may build beyond its own safe defaults: the internals of scikit-learn's linear,
tree, boosting, neighbours, SVM and MLP estimators. Nothing that can run code."""
TEAM_PACKAGE = f"{__name__.rsplit('.', 2)[0]}.ml"
TEAM_MODULES = frozenset(
    f"{TEAM_PACKAGE}.{module.name}"
    for module in pkgutil.iter_modules([str(Path(__file__).parents[1] / "ml")])
)
"""Where the team writes its own pipeline steps, the modules of its room (`ml/`): a class
defined in one of them may sit in the model. Its code comes from the repository (reviewed like
any change), not from the model file, and every machine that loads the model has the package
installed. Classes only: a function would enter through `FunctionTransformer`, which calls it
with whatever a request sends (`model.estimator_class` imports what it is given); a team's
function goes in a class."""
MODEL_FILE = "model.skops"
LOADER_MODULE = f"{mlflow.__name__}.sklearn"  # named, not imported: that takes seconds
FLAVORS = {"python_function", "sklearn"}
# The MLmodel that `mlflow.sklearn.log_model` writes for this project, key by key: anything
# else (another predict_fn, a loader, code, an env file of its own) is not what was judged
PYFUNC_KEYS = {"env", "loader_module", "model_path", "predict_fn", "python_version", "code"}
SKLEARN_KEYS = {"code", "pickled_model", "serialization_format", "sklearn_version",
                "skops_trusted_types"}  # fmt: skip
ENV_FILES = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}


@dataclass(frozen=True)
class CheckedModel:
    """Model files on local disk that passed `vet`, and their digest."""

    folder: Path
    digest: str

    def load(self) -> Pipeline:
        return load_skops(self.folder / MODEL_FILE)


def load_skops(path: Path) -> Pipeline:
    """The pipeline in a skops file, building only scikit-learn's trusted internals and the
    team's own steps (`team_types`); anything else stays refused by skops."""
    import skops.io  # about 1 s of imports, paid only by the verbs that load or vet

    found = skops.io.get_untrusted_types(file=path)
    return skops.io.load(path, trusted=[*TRUSTED_TYPES, *team_types(found)])


def team_types(types: list[str]) -> list[str]:
    """The classes among `types` that the team defined in its own modules (`TEAM_MODULES`).

    Resolved, not matched by name: `<package>.ml.features.pd` names a module that features.py
    imports, not a step the team wrote, so only classes whose home is that very module count."""
    import importlib
    import inspect

    own = []
    for name in types:
        module, _, attribute = name.rpartition(".")
        if module not in TEAM_MODULES:
            continue
        found = getattr(importlib.import_module(module), attribute, None)
        if inspect.isclass(found) and found.__module__ == module:
            own.append(name)
    return own


def untrusted_types(pipeline: Pipeline) -> list[str]:
    """The types skops would refuse by default: what the logged model must list as trusted."""
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))


_LOGGABLE: weakref.WeakKeyDictionary[Pipeline, list[str]] = weakref.WeakKeyDictionary()


def check_loggable(pipeline: Pipeline) -> list[str]:
    """At training time: the types to record, or `BadInput` before anything is logged.
    Answered once per fitted pipeline (a skops dump costs a second on a large forest): the
    verbs ask before their first request and `log_model` asks again for the list it records."""
    if pipeline not in _LOGGABLE:
        types = untrusted_types(pipeline)
        _refuse_unknown(types, "the model")
        _LOGGABLE[pipeline] = types
    return _LOGGABLE[pipeline]


def digest(folder: Path) -> str:
    """sha256 over every file's path and content: one value pins the whole model."""
    total = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        total.update(path.relative_to(folder).as_posix().encode() + b"\0")
        total.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return total.hexdigest()


def vet(folder: Path, what: str) -> None:
    """Refuse anything but a plain skops scikit-learn model with trusted types and no code."""
    try:
        spec = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
        flavors = dict(spec["flavors"])
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        raise BadInput(
            f"{what} has no readable MLmodel: not a model logged by this project"
        ) from None
    sklearn, pyfunc = flavors.get("sklearn") or {}, flavors.get("python_function") or {}
    if sklearn.get("serialization_format") != "skops" or sklearn.get("pickled_model") != MODEL_FILE:
        raise BadInput(
            f"{what} is saved as {sklearn.get('serialization_format')!r}, not skops: a pickle "
            "runs code when it is loaded, so it is never registered or loaded"
        )
    if set(flavors) != FLAVORS or sklearn.get("code") or pyfunc.get("code"):
        raise BadInput(f"{what} carries code or flavors of its own: refused")
    if pyfunc.get("loader_module") != LOADER_MODULE:
        raise BadInput(f"{what} names its own loader ({pyfunc.get('loader_module')}): refused")
    _refuse_unexpected_keys(sklearn, pyfunc, what)
    _refuse_unknown(sklearn.get("skops_trusted_types") or [], what)
    import skops.io

    try:
        found = skops.io.get_untrusted_types(file=folder / MODEL_FILE)
    except (OSError, ValueError, zipfile.BadZipFile):
        raise BadInput(f"{what}: {MODEL_FILE} is not a readable skops file") from None
    _refuse_unknown(found, what)


def _refuse_unexpected_keys(sklearn: dict, pyfunc: dict, what: str) -> None:
    """The served output is the judged output: `predict`, from model.skops, nothing else."""
    extra = sorted((set(pyfunc) - PYFUNC_KEYS) | (set(sklearn) - SKLEARN_KEYS))
    if extra:
        raise BadInput(f"{what} has MLmodel entries this project never writes: {', '.join(extra)}")
    if pyfunc.get("predict_fn", "predict") != "predict":
        raise BadInput(
            f"{what} predicts with {pyfunc.get('predict_fn')!r}, not 'predict': what it would "
            "serve is not what promote judges"
        )
    env = pyfunc.get("env") or {}
    if (
        pyfunc.get("model_path") != MODEL_FILE
        or not isinstance(env, dict)
        or any(ENV_FILES.get(key) != value for key, value in env.items())
    ):
        raise BadInput(f"{what} points its MLmodel at files of its own: refused")


def _refuse_unknown(types: list[str], what: str) -> None:
    unknown = sorted(set(types) - set(TRUSTED_TYPES) - set(team_types(types)))
    if unknown:
        raise BadInput(
            f"{what} needs types outside the trusted list: {', '.join(unknown)} (the team's own "
            "steps belong in a module of ml/)"
        )


def download(uri: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(folder)))


def fetch(uri: str, folder: Path, what: str) -> CheckedModel:
    """At registration: download the files of `uri` into `folder`, vet and fingerprint them."""
    local = download(uri, folder)
    vet(local, what)
    checked = CheckedModel(local, digest(local))
    model_cache.keep(local, checked.digest)
    return checked


def fetch_verified(
    name: str, version: ModelVersion, folder: Path, cached: bool = True
) -> CheckedModel:
    """Before any load: the version's files, refused unless they are exactly the files that
    were vetted and pinned at registration (compared before a byte of them is parsed), then
    vetted again against today's trusted list.

    `cached=False` checks the server's copy even when this machine holds a verified one."""
    checked = fetch_pinned(name, version, folder, cached)
    vet(checked.folder, f"version {version.version} of {name!r}")
    return checked


def fetch_pinned(
    name: str, version: ModelVersion, folder: Path, cached: bool = True
) -> CheckedModel:
    """The version's files, refused unless they are byte for byte the ones vetted and pinned at
    registration. Enough for a report (`status`), which parses nothing; loaders also `vet`."""
    what = f"version {version.version} of {name!r}"
    pinned = version.tags.get(MODEL_FILES_DIGEST_TAG)
    if not pinned:
        raise BadInput(f"{what} has no recorded file digest: register it again")

    def matches(copied: Path) -> bool:
        return digest(copied) == pinned

    local = model_cache.copy(pinned, folder, matches) if cached else None
    if local is None:
        local = download(str(version.source), folder)  # the URI that was vetted at registration
        if not matches(local):
            raise BadInput(f"the files of {what} changed since it was registered: refused")
        model_cache.keep(local, pinned)
    return CheckedModel(local, pinned)
