"""Tests of the central PC: every one is marked `central_pc` by this folder's conftest."""
