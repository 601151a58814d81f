{#- on-run-start: the raw tables dbt reads as sources. Only Spark needs it: ingestion lands raw.* as Parquet
    files (salescope/engines/spark.py) that become tables of schema raw here; DuckDB and PostgreSQL have
    raw.* as tables already. Re-declared every run, so a run reads exactly the files of its drop. -#}
{% macro register_raw_tables() -%}
    {{ return(adapter.dispatch('register_raw_tables')()) }}
{%- endmacro %}

{% macro default__register_raw_tables() -%}
    select 1
{%- endmacro %}

{% macro spark__register_raw_tables() -%}
    {%- if execute -%}
        {%- set raw_dir = var('spark_raw_dir') -%}
        {%- do run_query('create schema if not exists raw') -%}
        {%- for source in graph.sources.values() if source.source_name == 'crm' -%}
            {%- do run_query('drop table if exists raw.' ~ source.identifier) -%}
            {%- do run_query(
                "create table raw." ~ source.identifier ~ " using parquet location '"
                ~ raw_dir ~ "/" ~ source.identifier ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
