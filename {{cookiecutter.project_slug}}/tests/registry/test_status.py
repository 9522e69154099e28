"""status: every alias with its version, validation score and source run."""

from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.metric_names import validation_metric
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.registry.status import status
from {{ cookiecutter.package_name }}.tracking.model_registry import CHALLENGER, CHAMPION, PREVIOUS


def test_status_lists_every_alias(settings, as_admin):
    train(settings, {})
    version = register_challenger(settings).version
    text = status(settings).text
    lines = {line.split()[0]: line.split()[1] for line in text.splitlines()[3:]}
    assert lines == {CHAMPION: "-", CHALLENGER: version, PREVIOUS: "-"}


def test_status_shows_the_validation_score_the_version_was_registered_with(settings, as_admin):
    result = train(settings, {})
    register_challenger(settings)
    ranked_by = validation_metric(settings.metric.primary)
    text = status(settings).text
    assert ranked_by in text.splitlines()[1]
    assert f"{result.metrics[ranked_by]:.4f}" in text
