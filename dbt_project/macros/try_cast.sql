{#- Cast that yields NULL instead of failing when the text cannot be read as the type.
    dbt.safe_cast is a plain cast on DuckDB and PostgreSQL; DuckDB and Spark have try_cast. -#}
{% macro try_cast(expr, type) -%}
    {{ return(adapter.dispatch('try_cast')(expr, type)) }}
{%- endmacro %}

{% macro default__try_cast(expr, type) -%}
    {{ dbt.safe_cast(expr, type) }}
{%- endmacro %}

{% macro duckdb__try_cast(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro spark__try_cast(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro postgres__try_cast(expr, type) -%}
    {#- values written by the CRM as ISO dates or plain decimal numbers; anything else is NULL -#}
    {%- if type | lower in ('date',) -%}
    case when {{ expr }} ~ '^\d{4}-\d{2}-\d{2}$' then cast({{ expr }} as {{ type }}) end
    {%- else -%}
    case when {{ expr }} ~ '^-?\d+(\.\d+)?$' then cast({{ expr }} as {{ type }}) end
    {%- endif -%}
{%- endmacro %}
