"""A CRM database to read from, for demos and tests: the generator's world written into PostgreSQL or
MariaDB/MySQL (one table per contract entity, with ``updated_at`` and a soft-delete flag), and moved
forward day by day.

- ``url``      parse and mask database URLs; connect (psycopg 3 / PyMySQL); create and drop databases
- ``schema``   DDL per dialect: entity tables, ``_salescope_meta``, ``_salescope_deleted``, ``_salescope_changes``
- ``rows``     the rows a world holds as of a date: the clean values of the drop plus ``updated_at``
- ``writers``  bulk writes: PostgreSQL COPY, MariaDB multi-row INSERT; upserts and deletes by key
- ``seed``     ``seed()``: a fresh world into an empty database
- ``advance``  ``advance()``: play more days, apply the difference, soft and hard deletes, record it

No Dagster, no dashboards: a plain library the CLI (``salescope crm-db``) and tests call.
"""

from salescope.crm_db.advance import AdvanceResult, advance
from salescope.crm_db.seed import SeedResult, seed
from salescope.crm_db.url import CrmDbError, CrmUrl, parse_url

__all__ = ["AdvanceResult", "CrmDbError", "CrmUrl", "SeedResult", "advance", "parse_url", "seed"]
