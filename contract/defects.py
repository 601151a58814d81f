"""Defect kinds: the reason codes of the quarantine and of ``quality.issues``.

The generator's manifest uses the same codes. Row-level kinds are found while a file is read; the
others across rows.
"""

from __future__ import annotations

DEFECT_KINDS: dict[str, str] = {
    "missing_required": "a required value is empty",
    "bad_type": "a value cannot be read as its type (number, true/false)",
    "negative_amount": "an amount (money) is below zero",
    "unknown_category": "a value is not in the column's list of allowed values",
    "duplicate_key": "the primary key appears more than once",
    "orphan_fk": "a reference points to a record that does not exist",
    "future_date": "a date lies after the data's as-of date",
    "date_order": "a date that must come later comes earlier",
    "bad_date_format": "a date cannot be read in any known format",
    "out_of_range": "a number lies outside its allowed range",
}
