"""Talking to MLflow: the connection and its errors, what every run carries (tags, datasets,
provenance), model files and their checks, and the registry's aliases. Below `experiments` and
`registry`, beside `ml`: nothing here knows how a model is fitted."""
