"""Tests of train, tune, pending runs and the notebook, against a real server."""
