"""Managing a server project from the client — adding and removing its members, deleting it: one short
signed-in connection each (``core.sync.sign_in.ServerExchange``); run it on a worker thread or from the
CLI."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

from core.sync.member_protocol import MEMBER_REPLY, AddMemberRequest, MemberChanged, RemoveMemberRequest
from core.sync.protocol import SERVER_MESSAGE, Ack, AuthOk, AuthRequest, DeleteProjectChange, ErrorReply
from core.sync.sign_in import REPLY_TIMEOUT_S, ServerExchange, ServerRefusal, exchange, server_connection

if TYPE_CHECKING:
    import ssl


class MemberChange(ServerExchange[MemberChanged]):
    what = "The request"

    def __init__(
        self, url: str, token: str, request: AddMemberRequest | RemoveMemberRequest, ca_file: str = ""
    ) -> None:
        super().__init__(url, ca_file)
        self._token = token
        self._request = request

    async def _exchange(self, ssl_context: ssl.SSLContext | None) -> MemberChanged:
        async with server_connection(self.url, ssl_context) as ws:
            await exchange(ws, AuthRequest(id="auth", token=self._token), AuthOk)
            await ws.send(self._request.model_dump_json())
            reply = MEMBER_REPLY.validate_json(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
        if isinstance(reply, ErrorReply):
            raise ServerRefusal(reply)
        return reply


def add_member(url: str, token: str, project: int, username: str, ca_file: str = "") -> MemberChange:
    return MemberChange(
        url, token, AddMemberRequest(id="member", project=project, username=username), ca_file
    )


def remove_member(url: str, token: str, project: int, username: str, ca_file: str = "") -> MemberChange:
    request = RemoveMemberRequest(id="member", project=project, username=username)
    return MemberChange(url, token, request, ca_file)


class ProjectDeletion(ServerExchange[Ack]):
    """Delete a server project for everyone (its owner or an admin): sent at once, never queued, so a
    deletion is never replayed later from an outbox; the server's tombstone tells the other clients."""

    what = "The deletion"

    def __init__(self, url: str, token: str, project: int, ca_file: str = "") -> None:
        super().__init__(url, ca_file)
        self._token = token
        self._change = DeleteProjectChange(id="delete", change_id=str(uuid.uuid4()), project=project)

    async def _exchange(self, ssl_context: ssl.SSLContext | None) -> Ack:
        async with server_connection(self.url, ssl_context) as ws:
            await exchange(ws, AuthRequest(id="auth", token=self._token), AuthOk)
            await ws.send(self._change.model_dump_json())
            while True:
                reply = SERVER_MESSAGE.validate_json(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
                if isinstance(reply, ErrorReply):
                    raise ServerRefusal(reply)
                if isinstance(reply, Ack) and reply.change_id == self._change.change_id:
                    return reply
