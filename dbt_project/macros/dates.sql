{#- Date helpers built on dbt's cross-database macros. -#}

{#- whole days from one date expression to another (dates, not timestamps). trim: the adapter's datediff
    renders on several lines; one line keeps the compiled SQL (and sqlfluff's line lengths) readable -#}
{% macro days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') | trim }}
{%- endmacro %}

{#- a timestamp or date expression as a date -#}
{% macro to_date(expr) -%}
    cast({{ expr }} as {{ type_date() }})
{%- endmacro %}

{#- true when the date is a Sunday: whole days since Sunday 1970-01-04 divisible by 7
    (no day-of-week function: their numbering differs between engines) -#}
{% macro is_sunday(date_expr) -%}
    ({{ dbt.datediff("cast('1970-01-04' as " ~ type_date() ~ ")", date_expr, 'day') }} % 7 = 0)
{%- endmacro %}

{#- the Sunday on or after a date (the end of its Monday-to-Sunday week) -#}
{% macro week_ending_sunday(date_expr) -%}
    cast({{ dbt.dateadd('day',
        '(7 - (' ~ dbt.datediff("cast('1970-01-04' as " ~ type_date() ~ ")", date_expr, 'day') ~ ' % 7)) % 7',
        date_expr) }} as {{ type_date() }})
{%- endmacro %}

{#- the last day of the month of a date -#}
{% macro month_end(date_expr) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, dbt.date_trunc('month', date_expr))) }} as {{ type_date() }})
{%- endmacro %}

{#- a ratio that is NULL (never an error or a silent 0) when the denominator is 0 or NULL -#}
{% macro safe_divide(numerator, denominator) -%}
    case when ({{ denominator }}) is null or ({{ denominator }}) = 0 then null
         else cast(({{ numerator }}) as {{ type_double() }}) / ({{ denominator }}) end
{%- endmacro %}
