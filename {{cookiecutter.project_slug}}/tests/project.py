"""The project under test: where its files are, the platform tests' own settings file, and
settings with a few keys changed."""

from __future__ import annotations

from pathlib import Path

from {{ cookiecutter.package_name }}.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PLATFORM_CONFIG = Path(__file__).resolve().parent / "fixtures" / "mlops.toml"
"""What the platform tests run on, whatever the team has made of its own `mlops.toml`."""


def with_changes(settings: Settings, **sections: dict) -> Settings:
    """A copy of the settings with some keys of some sections replaced."""
    for name, values in sections.items():
        settings = settings.replace(name, **values)
    return settings
