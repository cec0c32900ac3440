"""Monitors for the things a Python service uses: web frameworks, HTTP clients, errors,
database pools, caches, circuit breakers, bulk work, tasks, locks and job queues.

One module per thing watched; each imports its framework only when the user uses it.
Two shapes are shared by all of them:

- ``context``: the unit of work running now (an HTTP route template or a job's task name),
  set once by the web middleware or the job hook and read by every monitor below it.
- ``scores``: the 0-100 health score every stateful component publishes as
  ``watchkeeper_health_score{component, name}``.
"""
