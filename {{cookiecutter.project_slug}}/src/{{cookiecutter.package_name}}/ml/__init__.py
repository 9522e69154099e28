"""The team's room: every file in this folder is yours to change; the rest of the package is the
platform (runs, the registry's gates, the central PC), which template updates keep current.

| to                          | edit                                                     |
|-----------------------------|----------------------------------------------------------|
| use another table           | `[data]` in `mlops.toml` (source, target, id, drop, ...) |
| read another kind of source | `read_table` in `data.py`                                |
| check the data another way  | `data_checks.py`                                         |
| add a feature               | `preprocessor` in `features.py` (a class of your own too) |
| change the model            | `[model]` and `[tune.space]` in `mlops.toml`; `model.py` |
| add a metric                | `SCORES` in `metrics.py`, and the metric in `choices.json` |
| validate another way        | `cross_validation.py`                                    |

The other files: `training.py` fits one candidate (cross-validated, then fitted on the training
part and scored on the holdout); `search.py` is `[tune.space]`, its samplers and the pick of the
best trial.

What stays fixed: every pipeline step is scikit-learn-compatible (`fit`/`transform`) and saved
with skops. A class you define in any module of this folder may sit in the pipeline: it trains,
registers, promotes and serves like scikit-learn's own, because it is code in this repository
that every machine installs. A type from anywhere else (another package, a notebook cell, a test)
is refused at `mlops train` and never loaded. Nothing here talks to MLflow (the import contract
in `pyproject.toml` checks it): a fit never waits on the server.
"""
