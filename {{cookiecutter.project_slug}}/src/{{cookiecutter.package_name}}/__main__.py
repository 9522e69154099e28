"""`python -m <package>`: this project's `mlops`, whatever else the environment holds."""

from .cli import main

raise SystemExit(main())
