"""Workflows, activities and plain Celery tasks that the bench runs."""
