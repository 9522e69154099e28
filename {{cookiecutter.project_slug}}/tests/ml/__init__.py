"""Tests of the team's room: pure scikit-learn and pandas, no server."""
