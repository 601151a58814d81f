{{ config(materialized='table') }}
-- Materialised as a table: every model that needs days or months reads it, so it is computed once per build.
-- One row per calendar day: the project's only date spine (macro period_series is called here and nowhere
-- else). It covers every day any model needs: from the earlier of the first opportunity's year start and
-- the first published exchange rate, through the later of the end of the as-of date's year and the last
-- published rate. Models take the range they need with a filter on date_day.

with candidates as (

    select
        cast({{ dbt.date_trunc('year', 'min(created_date)') }} as {{ type_date() }}) as first_day,
        cast(null as {{ type_date() }}) as last_day
    from {{ ref('stg_crm__opportunities') }}

    union all

    -- the exchange rates int_fx_rates_daily fills forward (the same filter as there)
    select
        min(rate_date) as first_day,
        max(rate_date) as last_day
    from {{ ref('stg_crm__fx_rates') }}
    where
        currency <> 'CNY'
        and rate_to_cny is not null
        and rate_date is not null

    union all

    select
        {{ as_of_date() }} as first_day,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, dbt.date_trunc('year', as_of_date()))) }}
            as {{ type_date() }}
        ) as last_day

),

bounds as (

    select
        min(first_day) as start_date,
        max(last_day) as end_date
    from candidates

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
