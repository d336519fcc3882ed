"""Storage of sessions, counters and cases."""
