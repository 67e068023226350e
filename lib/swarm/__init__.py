"""The ``swarm`` coordinator: typed tasks, the ``.swarm/`` store, backends and the scheduler.

Nothing heavy is imported here: ``hookrun``'s hot path imports ``hookswarm.lib`` and must not
pay for anyio or pydantic.
"""
