"""Benchmarks of durable_workflows on PostgreSQL + Redis with real Celery worker processes.

Run from the repository root (PostgreSQL on 127.0.0.1:5432 as postgres, Redis on 127.0.0.1:6379)::

    python -m bench            # everything
    python -m bench core       # A-C: workflow vs Celery chain latency and throughput
    python -m bench timers     # D: timer lateness, countdown fast path vs tick only
    python -m bench core       #    + G: per-step cost and the sticky cache (on, then off)
    python -m bench memory     # E: worker RSS with 10,000 workflows asleep
                               # H: worker RSS with runs cached (MAX_CACHED_RUNS 0/100/1000)
    python -m bench replay     # F: replay cost of a 10,000-event history (engine only, no DB)

It recreates the database ``durable_workflows_bench``, flushes Redis DB 13, starts
two workers and beat per phase, stops them at the end (also on Ctrl-C), prints a
table and writes ``bench/results/latest.json``. ``--help`` lists the knobs.
"""
