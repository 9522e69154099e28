"""Tests of how the project talks to MLflow."""
