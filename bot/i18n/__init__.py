"""Translations: reading catalogs, the pybabel cycle, extraction from flows and coverage."""
