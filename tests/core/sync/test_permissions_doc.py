"""``docs/permissions.md`` is the matrix ``core.sync.roles`` enforces, and cannot drift from it."""

from __future__ import annotations

from pathlib import Path

from core.sync.roles import (
    ALL_ROLES,
    PERMISSIONS,
    change_refusal,
    may,
    may_delete_comment,
    may_invite,
    permission_matrix_markdown,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "permissions.md"


def test_the_permissions_page_is_the_matrix_the_code_enforces() -> None:
    assert DOC.read_text(encoding="utf-8") == permission_matrix_markdown(), (
        "docs/permissions.md differs from core/sync/roles.py: regenerate it (see the page's header)"
    )


def test_change_refusals_follow_the_matrix() -> None:
    for permission in PERMISSIONS:
        if permission.enforced_by != "changes" or permission.action in ("comment", "moderate_comment"):
            continue
        for role in ALL_ROLES:
            refused = change_refusal(role, permission.action) is not None
            assert refused == (not may(role, permission.action)), (permission.action, role)


def test_moderation_and_invitations_follow_the_matrix() -> None:
    assert [may_delete_comment(role, is_author=False) for role in ALL_ROLES] == [True, True, False, False]
    assert all(may_delete_comment(role, is_author=True) for role in ALL_ROLES)
    assert may_invite("supervisor", "artist") is None
    assert may_invite("supervisor", "admin") == "Only admins can invite someone as admin"
    assert may_invite("admin", "supervisor") is None
    assert "cannot invite" in str(may_invite("artist", "client"))
