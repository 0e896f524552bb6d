"""Task tokens: a signed name for one activity attempt, and with it the right to settle it.

A token is the activity row's id and the attempt number, signed with the project's
SECRET_KEY (``django.core.signing``; SECRET_KEY_FALLBACKS are honoured, so keys can be
rotated). Its text uses only URL-safe characters (base64url and a ``.``), so it can be a
path segment of a webhook URL as it is. Whether the attempt it names is still current is
not the token's business: the services check that against the database.
"""

from __future__ import annotations

from django.core import signing

from .exceptions import InvalidTaskTokenError

#: Keeps these signatures apart from any other use of SECRET_KEY in the project.
SALT = "durable_workflows.task_token"
#: Far longer than any token issued here; a longer one is refused before any work.
MAX_TOKEN_LENGTH = 512


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, sep=".")


def issue(activity_task_id: int, attempt: int) -> bytes:
    """The token of ``attempt`` of the activity row ``activity_task_id`` (ASCII bytes)."""
    return _signer().sign_object({"a": activity_task_id, "n": attempt}).encode("ascii")


def read(token: bytes | str) -> tuple[int, int]:
    """The activity row id and attempt a token names.

    Raises:
        InvalidTaskTokenError: not a token issued with this project's key.
    """
    if isinstance(token, bytes | bytearray):
        try:
            text = bytes(token).decode("ascii")
        except UnicodeDecodeError:
            raise InvalidTaskTokenError("The task token is not valid.") from None
    elif isinstance(token, str):
        text = token
    else:
        raise InvalidTaskTokenError(
            f"A task token is bytes or a string, got {type(token).__name__}."
        )
    if not text or len(text) > MAX_TOKEN_LENGTH:
        raise InvalidTaskTokenError("The task token is not valid.")
    try:
        value = _signer().unsign_object(text)
    except (signing.BadSignature, ValueError):
        raise InvalidTaskTokenError("The task token is not valid.") from None
    fields = value if isinstance(value, dict) else {}
    return _positive_int(fields.get("a")), _positive_int(fields.get("n"))


def _positive_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise InvalidTaskTokenError("The task token is not valid.")
