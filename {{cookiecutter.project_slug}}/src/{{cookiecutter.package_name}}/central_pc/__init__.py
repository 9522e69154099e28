"""The central PC: the tracking server and its guard, users, backups, upgrades and migrations,
the tunnel and the model server. Imports `registry`, `tracking`, `ml` and the shared modules at
the top, never `experiments`: it could become a distribution of its own."""
