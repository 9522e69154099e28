"""Tests of the registry's decisions, against a real server."""
