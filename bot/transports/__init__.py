"""Adapters between messengers (or a terminal) and the transport-agnostic conversation service."""
