"""The HTTP API (Django REST framework): ``path("api/", include("durable_workflows.api.urls"))``.

Thin adapters over the same use cases as the client: every view validates the request's
shape, calls one service function and renders its answer. Errors map to responses by the
``http_status`` and ``code`` each error class declares; every error body is
``{"error": {"code": ..., "message": ..., "field": ...}}``.
"""
