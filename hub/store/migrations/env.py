"""Alembic environment: runs on the connection the hub hands over."""

from alembic import context

from hub.store.models import Base, include_name

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `hub db upgrade` (hub.store.migrate.upgrade)")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  include_name=include_name)
with context.begin_transaction():
    context.run_migrations()
