from scipy.stats import loguniform, randint
from sklearn.model_selection import ParameterSampler

from {{ cookiecutter.package_name }}.metric_names import validation_metric
from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.ml.search import (
    Choices,
    Range,
    Trial,
    fit_trials,
    parse_space,
    pick_best,
    sample_trials,
)
from {{ cookiecutter.package_name }}.ml.training import FittedCandidate


def test_the_search_is_seeded(settings):
    space = parse_space(settings)
    first = sample_trials(space, "random", 5, seed=7)
    again = sample_trials(space, "random", 5, seed=7)
    assert first == again and first != sample_trials(space, "random", 5, seed=8)
    split = load_split(settings)
    scores = [
        [trial.candidate.metrics for trial in fit_trials(settings, split, first, progress=False)]
        for _ in range(2)
    ]
    assert scores[0] == scores[1]


def test_the_best_trial_is_chosen_by_validation_never_by_the_holdout(platform_settings):
    primary = platform_settings.metric.primary
    ranked_by = validation_metric(primary)
    good, bad = (0.9, 0.5) if platform_settings.metric.greater_is_better else (0.5, 0.9)
    lucky_on_holdout = Trial(1, {}, FittedCandidate(None, {}, {ranked_by: bad, primary: good}))
    validated = Trial(2, {}, FittedCandidate(None, {}, {ranked_by: good, primary: bad}))
    assert pick_best([lucky_on_holdout, validated], platform_settings) is validated


def test_random_search_is_scikit_learns_parameter_sampler():
    space = {"a": Range(0.01, 100.0, log=True), "n": Range(1, 50), "b": Choices(("x", "y"))}
    sampled = ParameterSampler(
        {"a": loguniform(0.01, 100.0), "n": randint(1, 51), "b": ["x", "y"]},
        n_iter=6, random_state=3,
    )  # fmt: skip
    expected = [{k: space[k].tidy(v) for k, v in combo.items()} for combo in sampled]
    assert sample_trials(space, "random", 6, seed=3) == expected


def test_a_random_search_over_lists_never_repeats_a_combination():
    space = {"a": Choices((1, 2)), "b": Choices(("x", "y"))}
    combos = sample_trials(space, "random", 10, seed=0)
    assert len(combos) == 4 and len({tuple(c.items()) for c in combos}) == 4


def test_a_grid_spreads_ranges_over_the_trials_and_keeps_every_choice():
    space = {"a": Range(0.01, 100.0, log=True), "b": Choices(("x", "y"))}
    combos = sample_trials(space, "grid", 10, seed=0)
    assert len(combos) == 10
    assert sorted({c["a"] for c in combos}) == [0.01, 0.1, 1.0, 10.0, 100.0]
    assert {c["b"] for c in combos} == {"x", "y"}
    grid = sample_trials(space, "grid", 5, seed=0)
    assert len(grid) == 4  # 2 points x 2 choices: never above trials
    wider = {**space, "b": Choices(("x", "y", "z"))}
    thinned = sample_trials(wider, "grid", 5, seed=0)  # 6 combinations, thinned to a seeded 5
    assert len(thinned) == 5 and sample_trials(wider, "grid", 5, seed=0) == thinned


def test_integer_ranges_stay_integers_inside_the_range():
    combos = sample_trials({"n": Range(2, 9)}, "random", 50, seed=1)
    assert all(isinstance(c["n"], int) and 2 <= c["n"] <= 9 for c in combos)
    grid = sample_trials({"n": Range(2, 9)}, "grid", 20, seed=1)
    assert [c["n"] for c in grid] == list(range(2, 10))
