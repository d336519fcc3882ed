"""Spotting identifying details people type (phone numbers, emails, UK postcodes). Pure."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# UK postcodes: outward code (A9, A9A, A99, AA9, AA9A, AA99), optional space, inward code (9AA).
_POSTCODE = re.compile(r"\b(?:GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE)
# A run of digits with the separators people put in phone numbers.
_PHONE_RUN = re.compile(r"(?:\+|\b)\d[\d \-.()/]{7,}\d\b")
PHONE_DIGITS = range(10, 16)  # UK numbers have 10-11 digits, international ones up to 15


def looks_identifying(text: str) -> bool:
    """Whether `text` holds a phone number, an email address or a UK postcode."""
    if _EMAIL.search(text) or _POSTCODE.search(text):
        return True
    return any(len(re.sub(r"\D", "", run)) in PHONE_DIGITS for run in _PHONE_RUN.findall(text))
