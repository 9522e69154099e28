"""`python -m {{ cookiecutter.package_name }}`: the `mlops` command of this project, whatever else is installed."""

from .cli import main

raise SystemExit(main())
