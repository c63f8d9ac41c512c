"""Queries that turn protocol-level requests into SQL."""
