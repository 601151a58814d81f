"""data_quality: the suites, the gate and what stewards read.

- ``raw_suites``   contract suites over raw.* (generated from the ``contract`` package)
- ``mart_suites``  METRICS.md invariants over the marts (skipped while a mart does not exist)
- ``operational``  file present, volume change, freshness, null-rate drift (SQL)
- ``gate``         ingestion checks (files, conservation, quarantine share) and the result types
- ``gx_runner``    Great Expectations on its pandas data source, fed from DuckDB in bounded batches
- ``runner``       one quality run: results, issues, ``quality.summary``, Data Docs (``docs``)
- ``report``       the latest verdict, top issues, quarantine counts and the fix list (``salescope quality``)
Plain library: takes a DuckDB connection, never imports Dagster; GX is imported only when suites run.
"""
