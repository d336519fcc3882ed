"""What keeps people unidentifiable: pseudonymous keys and seals, log redaction, small-count suppression, discretion."""
