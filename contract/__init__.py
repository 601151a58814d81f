"""The source contract: every entity Salescope ingests, declared once.

This one declaration drives parsing and coercion (``ingestion.normalize``), the quarantine rules
(``ingestion.validate``), the dbt sources (``dbt_project/models/staging/_sources.yml`` is generated from
it by ``contract.export`` and a test checks it), the GX raw suites (``data_quality.raw_suites``), the
demo data generator (``salescope.generator``) and the docs (``salescope contract --markdown``).

It is the bottom layer: it imports nothing of the project (``export`` reads the settings for where the dbt
project is), so every other package may read it.

- ``model``         the shapes of a declaration (``Column``, ``ForeignKey``, ``Entity``) and column types
- ``vocabularies``  the allowed values of enum columns, with Chinese names and aliases
- ``defects``       the reason codes of the quarantine and of ``quality.issues``
- ``entities``      the entities themselves
- ``export``        text rendered from the contract: dbt sources YAML, the vocabulary macro, a data dictionary
"""

from contract.defects import DEFECT_KINDS
from contract.entities import ENTITIES, ENTITY_BY_NAME, get_entity
from contract.model import SQL_TYPES, Column, ColumnType, Entity, ForeignKey, key_text
from contract.vocabularies import VOCABULARIES, Term, codes, vocabulary_lookup, zh_name

__all__ = [
    "DEFECT_KINDS",
    "ENTITIES",
    "ENTITY_BY_NAME",
    "SQL_TYPES",
    "VOCABULARIES",
    "Column",
    "ColumnType",
    "Entity",
    "ForeignKey",
    "Term",
    "codes",
    "get_entity",
    "key_text",
    "vocabulary_lookup",
    "zh_name",
]
