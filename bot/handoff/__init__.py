"""Handoff to a person: cases, the relay queues, staff hours and the transport-agnostic service."""
