"""The Signal transport over signal-cli's JSON-RPC daemon."""
