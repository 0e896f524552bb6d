"""A GIN index (jsonb_path_ops) on WorkflowExecution.search_attributes, on PostgreSQL only.

It serves the ``search_attributes @> {...}`` containment that every search attribute
equality filter compiles to. Other databases (SQLite in development) have no GIN index:
the operation records the index in the migration state everywhere, so models and
migrations agree, and creates it only on PostgreSQL.
"""

import django.contrib.postgres.indexes
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """``AddIndex`` whose database side runs only on PostgreSQL."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("durable_workflows", "0004_composition"),
    ]

    operations = [
        AddIndexOnPostgreSQL(
            model_name="workflowexecution",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_attributes"],
                name="dw_exec_search_attrs",
                opclasses=["jsonb_path_ops"],
            ),
        ),
    ]
