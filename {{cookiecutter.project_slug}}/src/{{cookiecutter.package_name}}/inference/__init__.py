"""The champion at work: batch predictions (`mlops predict`) and the app `mlops serve` runs,
which follows `champion` across promotions and rollbacks.

Beside `registry` and `experiments`: it reads an alias and fetches the model the way promote
does (digest, trusted types, model cache), and never decides anything about the registry."""
