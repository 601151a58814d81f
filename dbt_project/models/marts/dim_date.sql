-- One row per calendar day from the first day of the first opportunity's year through the end of the
-- as-of date's year: week (ending Sunday), month, quarter and year, and whether the day is on or before
-- the as-of date.

with bounds as (

    select
        cast({{ dbt.date_trunc('year', 'min(created_date)') }} as {{ type_date() }}) as start_date,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, dbt.date_trunc('year', as_of_date()))) }}
             as {{ type_date() }}) as end_date
    from {{ ref('stg_crm__opportunities') }}

),

days as (

    {{ period_series('day', 'bounds', 'bounds.start_date', 'bounds.end_date', 20000) }}

)

select
    cast(period_start as {{ type_date() }}) as date_day,
    {{ week_ending_sunday('period_start') }} as week_ending_sunday,
    cast({{ dbt.date_trunc('month', 'period_start') }} as {{ type_date() }}) as month_start,
    {{ month_end('period_start') }} as month_end,
    cast({{ dbt.date_trunc('quarter', 'period_start') }} as {{ type_date() }}) as quarter_start,
    cast({{ dbt.date_trunc('year', 'period_start') }} as {{ type_date() }}) as year_start,
    cast(extract(year from period_start) as {{ dbt.type_int() }}) as year_number,
    cast(extract(quarter from period_start) as {{ dbt.type_int() }}) as quarter_number,
    cast(extract(month from period_start) as {{ dbt.type_int() }}) as month_number,
    case when {{ is_sunday('period_start') }} then true else false end as is_sunday,
    case when period_start = {{ month_end('period_start') }} then true else false end as is_month_end,
    case when period_start <= {{ as_of_date() }} then true else false end as is_on_or_before_as_of
from days
