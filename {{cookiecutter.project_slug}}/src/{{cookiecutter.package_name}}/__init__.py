"""{{ cookiecutter.project_name }}.

{{ cookiecutter.description }}
"""

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "{{ cookiecutter.project_slug }}"
try:
    __version__ = version(DISTRIBUTION)  # one version, the one in pyproject.toml
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"
