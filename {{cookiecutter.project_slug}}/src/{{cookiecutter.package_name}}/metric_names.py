"""The names scores are logged under, apart from the code that computes them: the verbs that
only read scores (`status`, `register-challenger`) then never import scikit-learn."""

PREFIX = "cv_"
SPREAD_SUFFIX = "_std"


def validation_metric(metric: str) -> str:
    """The name the validation score of `metric` is logged under (`f1` -> `cv_f1`)."""
    return f"{PREFIX}{metric}"


def spread_metric(metric: str) -> str:
    """The standard deviation over the folds (`f1` -> `cv_f1_std`)."""
    return f"{PREFIX}{metric}{SPREAD_SUFFIX}"
