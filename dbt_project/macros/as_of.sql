{#- The as-of date every metric is computed for: the `as_of` var (YYYY-MM-DD). Models never read the
    build time; events after the as-of date are ignored in the marts. -#}

{% macro as_of_literal() -%}
    {%- set value = var('as_of') | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error(
            "var 'as_of' must be a date written YYYY-MM-DD, got '" ~ value ~ "'. "
            ~ "Pass it as: dbt build --vars '{as_of: 2026-06-30}'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- the as-of date as a SQL date expression -#}
{% macro as_of_date() -%}
    cast('{{ as_of_literal() }}' as {{ type_date() }})
{%- endmacro %}

{#- true when a date or timestamp expression lies on or before the as-of date (the whole as-of day counts) -#}
{% macro on_or_before_as_of(expr) -%}
    (cast({{ expr }} as {{ type_date() }}) <= {{ as_of_date() }})
{%- endmacro %}
