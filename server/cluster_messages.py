"""What the server processes of one PostgreSQL database say to each other, and how they say it.

Plain values and text only (channel names, payload formats): the writer's statements and the change
handlers build payloads with these, ``server.cluster`` listens for them; neither needs the other.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

EVENTS_CHANNEL = "stratopipe_events"
SIGN_IN_CHANNEL = "stratopipe_sign_in"
LISTENER_APPLICATION = "stratopipe-listener"


def is_postgres(db_url: str) -> bool:
    return db_url.startswith("postgresql")


def libpq_conninfo(db_url: str) -> str:
    """The SQLAlchemy URL (``postgresql+psycopg://...``) as a libpq URI psycopg connects with."""
    url = sa.engine.make_url(db_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


# PostgreSQL refuses payloads of 8,000 bytes or more.
_PAYLOAD_BYTES = 7_900


def head_payloads(heads: dict[int, int]) -> list[str]:
    """``project:head`` for each project a batch wrote to, space-separated, as few notifications as fit
    (a batch of changes to 500 projects costs one statement, not 500)."""
    payloads: list[str] = []
    current = ""
    for project, seq in sorted(heads.items()):
        pair = f"{project}:{seq}"
        if current and len(current) + 1 + len(pair) > _PAYLOAD_BYTES:
            payloads.append(current)
            current = ""
        current = f"{current} {pair}" if current else pair
    if current:
        payloads.append(current)
    return payloads


def parse_heads(payload: str) -> list[tuple[int, int]] | None:
    pairs = []
    for item in payload.split():
        project, _, seq = item.partition(":")
        try:
            pairs.append((int(project), int(seq)))
        except ValueError:
            return None
    return pairs


def notify(engine: Engine, channel: str, payload: str) -> None:
    """Send one notification outside the writer's transaction (sign-in failures)."""
    with engine.begin() as connection:
        connection.execute(sa.select(sa.func.pg_notify(channel, payload)))


def sign_in_payload(origin: str, outcome: str, address: str, username: str | None) -> str:
    return json.dumps({"origin": origin, "outcome": outcome, "address": address, "user": username})


def parse_sign_in(payload: str) -> dict[str, Any] | None:
    try:
        document = json.loads(payload)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
