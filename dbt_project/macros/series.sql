{#- Every period from start to end (inclusive) as a column `period_start` of type date, built from
    dbt.generate_series (portable: a cross join of powers of two where no generate_series exists).
    `start_date` and `end_date` are SQL date expressions over `bounds_relation`, a one-row relation. -#}
{% macro period_series(datepart, bounds_relation, start_date, end_date, max_periods) -%}
    select
        cast({{ dbt.dateadd(datepart, 'series.generated_number - 1', start_date) }} as {{ type_date() }}) as period_start
    from ({{ dbt.generate_series(max_periods) }}) as series
    cross join {{ bounds_relation }}
    where series.generated_number - 1 <= {{ dbt.datediff(start_date, end_date, datepart) }}
{%- endmacro %}
