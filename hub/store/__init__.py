"""SQLite persistence: one database per hub, one writer (the hub's event loop)."""

from hub.store.database import Database, open_database

__all__ = ["Database", "open_database"]
