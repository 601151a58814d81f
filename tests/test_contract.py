"""The source contract is internally consistent: every rule the pipeline derives from it can hold."""

from __future__ import annotations

from collections import Counter

import pytest

from contract import (
    DEFECT_KINDS,
    ENTITIES,
    ENTITY_BY_NAME,
    VOCABULARIES,
    get_entity,
    vocabulary_lookup,
)

DESIGN_ENTITIES = {
    "users",
    "quotas",
    "accounts",
    "contacts",
    "leads",
    "campaigns",
    "channel_spend",
    "opportunities",
    "opportunity_history",
    "activities",
    "contracts",
    "projects",
    "project_tasks",
    "documents",
    "invoices",
    "payments",
    "nps_responses",
    "fx_rates",
}


def test_the_18_entities_of_the_design():
    assert {e.name for e in ENTITIES} == DESIGN_ENTITIES
    assert len({e.zh for e in ENTITIES}) == 18  # Chinese file names are unambiguous too


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: e.name)
def test_entity_declaration(entity):
    names = entity.column_names
    assert len(names) == len(set(names))
    assert entity.description.startswith("One row per")
    for key in entity.primary_key:
        assert entity.column(key).required, f"{entity.name}.{key} is a key, so it must be required"
    # every header spelling maps to one column only
    spellings = Counter(s.strip().lower() for c in entity.columns for s in c.header_spellings())
    assert not [s for s, n in spellings.items() if n > 1], spellings.most_common(3)
    for fk in entity.foreign_keys:
        ref = ENTITY_BY_NAME[fk.ref_entity]
        assert tuple(ref.primary_key) == fk.ref_columns, f"{entity.name} -> {fk.ref_entity}"
        for col in fk.columns:
            assert col in names
    for earlier, later in entity.date_order:
        assert entity.column(earlier).type in {"date", "timestamp"}
        assert entity.column(later).type == entity.column(earlier).type
    for col in entity.event_dates:
        assert entity.column(col).type in {"date", "timestamp"}
    for c in entity.columns:
        assert (c.type == "enum") == (c.vocab is not None), f"{entity.name}.{c.name}"
        if c.vocab:
            assert c.vocab in VOCABULARIES
        if c.min is not None and c.max is not None:
            assert c.min < c.max
    if any(c.type == "amount" for c in entity.columns) and entity.name not in {"quotas", "accounts"}:
        assert entity.currency_column in names


@pytest.mark.parametrize("vocab", sorted(VOCABULARIES))
def test_vocabulary_spellings_are_unambiguous(vocab):
    owners: dict[str, set[str]] = {}
    for t in VOCABULARIES[vocab]:
        for s in t.spellings():
            owners.setdefault(s.strip().lower(), set()).add(t.code)
    assert {s: c for s, c in owners.items() if len(c) > 1} == {}
    lookup = vocabulary_lookup(vocab)
    for term in VOCABULARIES[vocab]:
        assert lookup[term.zh.lower()] == term.code


def test_design_vocabularies():
    stages = [t.code for t in VOCABULARIES["stage"]]
    assert stages == [
        "initial_contact",
        "needs_confirmed",
        "proposal",
        "negotiation",
        "won",
        "contract_signed",
        "lost",
    ]
    assert [t.zh for t in VOCABULARIES["stage"]][:6] == [
        "初步接触",
        "需求确认",
        "方案报价",
        "谈判",
        "成交",
        "签约",
    ]
    assert len(VOCABULARIES["lead_source"]) == 10 and len(VOCABULARIES["channel"]) == 7
    assert len(VOCABULARIES["role"]) == 6
    assert {t.code for t in VOCABULARIES["currency"]} == {"CNY", "USD", "EUR", "HKD"}
    assert len(DEFECT_KINDS) == 10


def test_unknown_entity_message_lists_known_ones():
    with pytest.raises(KeyError, match="opportunities"):
        get_entity("deals")
