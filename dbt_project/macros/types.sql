{#- Types dbt's cross-database macros do not provide (dbt.type_float is single precision on DuckDB). -#}

{% macro type_date() -%}
    {{ return(adapter.dispatch('type_date')()) }}
{%- endmacro %}
{% macro default__type_date() -%}
    {{ return('date') }}
{%- endmacro %}

{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}
{% macro default__type_double() -%}
    {{ return('double precision') }}
{%- endmacro %}
{% macro spark__type_double() -%}
    {{ return('double') }}
{%- endmacro %}
{% macro duckdb__type_double() -%}
    {{ return('double') }}
{%- endmacro %}

{#- money: an amount with two decimals, as the raw tables hold it -#}
{% macro type_money() -%}
    {{ return(adapter.dispatch('type_money')()) }}
{%- endmacro %}
{% macro default__type_money() -%}
    {{ return('numeric(18,2)') }}
{%- endmacro %}
{% macro spark__type_money() -%}
    {{ return('decimal(18,2)') }}
{%- endmacro %}
{% macro duckdb__type_money() -%}
    {{ return('decimal(18,2)') }}
{%- endmacro %}

{#- an exchange rate: CNY per unit of a currency -#}
{% macro type_rate() -%}
    {{ return(adapter.dispatch('type_rate')()) }}
{%- endmacro %}
{% macro default__type_rate() -%}
    {{ return('numeric(18,8)') }}
{%- endmacro %}
{% macro spark__type_rate() -%}
    {{ return('decimal(18,8)') }}
{%- endmacro %}
{% macro duckdb__type_rate() -%}
    {{ return('decimal(18,8)') }}
{%- endmacro %}
