"""Tables that let tests count side effects across worker processes."""

from django.db import models


class SideEffect(models.Model):
    """One row per execution of an activity body: count them to prove exactly-once claims."""

    key = models.CharField(max_length=255, db_index=True)
    name = models.CharField(max_length=255)
    attempt = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)

    @classmethod
    def record(cls, key: str, name: str, attempt: int = 1) -> None:
        cls.objects.create(key=key, name=name, attempt=attempt)

    @classmethod
    def count(cls, key: str, name: str) -> int:
        return cls.objects.filter(key=key, name=name).count()


class WebhookRequest(models.Model):
    """What an activity that completes asynchronously hands a third party: its task token.

    A row, so a test (or a process standing in for the third party) can read the token
    and settle the attempt through the client or the HTTP API.
    """

    key = models.CharField(max_length=255, db_index=True)
    attempt = models.PositiveIntegerField()
    task_token = models.TextField()

    @classmethod
    def tokens(cls, key: str) -> list[str]:
        """The tokens handed out for ``key``, one per attempt, oldest first."""
        return list(
            cls.objects.filter(key=key).order_by("attempt").values_list("task_token", flat=True)
        )
