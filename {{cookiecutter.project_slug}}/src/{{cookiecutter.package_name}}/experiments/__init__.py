"""Runs: `mlops train` and `mlops tune` log what `ml` fits; runs saved while the server is away
(`pending`); the notebook's glue (`colab`) and its leak scan."""
