"""Who may move champion: `[promotion] approvers`, in GitHub Actions."""

import pytest

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.registry.approvers import check_approvers


@pytest.mark.parametrize(
    ("approvers", "actions", "actor", "allowed"),
    [
        ([], "true", "anyone", True),
        (["alice"], "true", "alice", True),
        (["alice"], "true", "mallory", False),
        (["alice"], "true", "", False),
        (["alice"], None, "mallory", True),  # outside Actions the server's permissions decide
    ],
)
def test_approvers_guard_every_move_of_champion(
    platform_settings, monkeypatch, approvers, actions, actor, allowed
):
    settings = platform_settings.replace("promotion", approvers=approvers)
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", actor)
    if actions:
        monkeypatch.setenv("GITHUB_ACTIONS", actions)
    else:
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    if allowed:
        check_approvers(settings, "promote")
    else:
        with pytest.raises(BadInput, match="may not promote; nothing moved"):
            check_approvers(settings, "promote")
