"""Render and inference steps on a Dask distributed cluster (``execution: dask``).

The catalog's job documents stay the truth and retries stay ours (core/jobs/runner.py): Dask only
executes. ``executor.FarmExecutor`` wraps step functions on the client side, ``coalesce`` sends the
small steps of jobs submitted together as one task, ``remote.run_remote_step`` (and ``run_remote_batch``)
runs them on a worker (in the same sandboxed render child as locally),
``paths.PathMapping`` translates studio mounts between machines and ``preload`` is what a stock
``dask worker --preload core.farm.preload`` loads. Dask itself is imported lazily: it is the optional
``farm`` extra.
"""
