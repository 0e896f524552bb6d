"""Tables of the bench: rows that any process can count."""

from django.db import models


class SideEffect(models.Model):
    """One row per execution of a chaos activity's body (an insert, so duplicates count).

    ``worker_pid`` is the process that ran the body: the chaos soak matches a superseded
    attempt's row with the worker it killed or whose connection it terminated.
    """

    run_id = models.UUIDField()
    step = models.PositiveIntegerField()
    attempt = models.PositiveIntegerField()
    worker_pid = models.PositiveIntegerField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["run_id", "step"], name="bench_side_effect_run_step")]

    def __str__(self) -> str:
        return f"{self.run_id} step {self.step} attempt {self.attempt} (pid {self.worker_pid})"
