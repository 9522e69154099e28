"""The project under test: where its files are, and its settings with a few keys changed."""

from __future__ import annotations

from pathlib import Path

from {{ cookiecutter.package_name }}.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def with_changes(settings: Settings, **sections: dict) -> Settings:
    """A copy of the settings with some keys of some sections replaced."""
    for name, values in sections.items():
        settings = settings.replace(name, **values)
    return settings
