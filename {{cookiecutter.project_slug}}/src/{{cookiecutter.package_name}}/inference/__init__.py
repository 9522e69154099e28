"""The champion at work: batch predictions with the verified model (`mlops predict`).

Beside `registry` and `experiments`: it reads an alias and fetches the model the way promote and
serve do (digest, trusted types, model cache), and never decides anything about the registry."""
