from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.tracking.datasets import holdout_digest

from ..project import with_changes


def test_the_split_is_seeded_so_the_holdout_digest_is_stable(platform_settings):
    assert holdout_digest(load_split(platform_settings)) == holdout_digest(
        load_split(platform_settings)
    )


def test_another_seed_gives_another_holdout(platform_settings):
    other = with_changes(platform_settings, data={"seed": platform_settings.data.seed + 1})
    assert holdout_digest(load_split(other)) != holdout_digest(load_split(platform_settings))
