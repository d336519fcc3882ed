"""The pure flow engine: one step from (flows, state, inbound, now) to an outcome. No I/O."""
