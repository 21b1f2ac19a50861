"""Alembic migrations of the hub's schema (run by ``samspil serve`` and the admin commands)."""
