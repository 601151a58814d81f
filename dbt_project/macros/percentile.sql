{#- A continuous percentile (p in [0, 1]) as an aggregate. -#}
{% macro percentile_cont(expr, p) -%}
    {{ return(adapter.dispatch('percentile_cont')(expr, p)) }}
{%- endmacro %}

{% macro default__percentile_cont(expr, p) -%}
    percentile_cont({{ p }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro spark__percentile_cont(expr, p) -%}
    percentile({{ expr }}, {{ p }})
{%- endmacro %}
