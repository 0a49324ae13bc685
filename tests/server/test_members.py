"""Managing a project's members from the client over real sockets: a supervisor who is a member adds
and removes people, an artist may not, and the project's owner stays a member."""

from __future__ import annotations

from core.sync.member_protocol import MemberChanged
from core.sync.members import add_member, remove_member
from core.sync.sign_in import SignInFailure
from server import admin
from server.db import open_database
from server.store import member_projects
from tests.server.conftest import RunningServer


def test_a_supervisor_adds_and_removes_members_an_artist_may_not(sync_server: RunningServer) -> None:
    cast, url = sync_server.cast, sync_server.url
    engine = open_database(cast.db_url)
    sam = admin.add_user(engine, "sam", "supervisor", "sam-password")
    sam_token = admin.issue_token(engine, sam).token
    admin.add_member(engine, "show", "sam")
    admin.set_owner(engine, "show", "carol")
    engine.dispose()

    def projects_of(name: str) -> list[str]:
        engine = open_database(cast.db_url)
        with engine.connect() as connection:
            names = [p.name for p in member_projects(connection, cast.users[name])]
        engine.dispose()
        return names

    by_artist = add_member(url, cast.tokens["alice"], cast.project, "dave").run()
    assert isinstance(by_artist, SignInFailure)
    assert by_artist.code == "forbidden", by_artist
    assert projects_of("dave") == ["other show"]

    added = add_member(url, sam_token, cast.project, "dave").run()
    assert added == MemberChanged(
        re="member", project=cast.project, username="dave", member=True, changed=True
    )
    assert projects_of("dave") == ["show", "other show"]
    removed = remove_member(url, sam_token, cast.project, "dave").run()
    assert isinstance(removed, MemberChanged)
    assert (removed.member, removed.changed) == (False, True)
    assert projects_of("dave") == ["other show"]

    # Not a member of "other show": a supervisor manages their own projects only.
    elsewhere = add_member(url, sam_token, cast.other_project, "alice").run()
    assert isinstance(elsewhere, SignInFailure)
    assert elsewhere.code == "not_member", elsewhere
    owner = remove_member(url, sam_token, cast.project, "carol").run()
    assert isinstance(owner, SignInFailure)
    assert owner.code == "invalid", owner
