"""Comment and task sync: the wire protocol shared with ``stratopipe-server`` and the client engine.

Nothing here imports Qt. The app runs :class:`core.sync.client.SyncClient` on its own thread and forwards
its callbacks to Qt signals.
"""
