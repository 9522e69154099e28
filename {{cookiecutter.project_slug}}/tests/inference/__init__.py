"""Tests of the champion at work: `mlops predict` against a real server."""
