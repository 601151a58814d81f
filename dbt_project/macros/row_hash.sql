{#- A 64-bit hash of a row's values (NULL-aware: (NULL, 'x') and ('x', NULL) differ), for fingerprints that
    are xor-ed per key (macros/snapshot_inputs.sql). Each engine's own hash: the fingerprints are compared
    only with fingerprints the same engine wrote. -#}
{% macro row_hash(columns) -%}
    {{ return(adapter.dispatch('row_hash')(columns)) }}
{%- endmacro %}

{% macro duckdb__row_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__row_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}

{#- PostgreSQL has no multi-argument hash: the values as text, NULL marked, separated by a unit separator -#}
{% macro default__row_hash(columns) -%}
    hashtextextended(concat_ws(chr(31)
        {%- for c in columns %}, coalesce(cast({{ c }} as {{ dbt.type_string() }}), chr(30)){% endfor -%}
    ), 0)
{%- endmacro %}
