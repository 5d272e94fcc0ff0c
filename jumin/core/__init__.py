"""Shared core: layouts, lake paths, errors, manifests, receipts, check digits, reference data and
the one DuckDB runner. Imports no stage (kept by import-linter, see pyproject.toml)."""
