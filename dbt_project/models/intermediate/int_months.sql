-- One row per calendar month from the first opportunity's month through the as-of date's month:
-- its first and last day, and the day its stock figures are taken on (period_end: the month's last day,
-- or the as-of date for the as-of month).

with bounds as (

    select
        cast({{ dbt.date_trunc('month', 'min(created_date)') }} as {{ type_date() }}) as start_month,
        cast({{ dbt.date_trunc('month', as_of_date()) }} as {{ type_date() }}) as end_month
    from {{ ref('stg_crm__opportunities') }}
    where {{ on_or_before_as_of('created_at') }}

),

months as (

    {{ period_series('month', 'bounds', 'bounds.start_month', 'bounds.end_month', 1200) }}

)

select
    cast(period_start as {{ type_date() }}) as month_start,
    {{ month_end('period_start') }} as month_end,
    cast(
        case when {{ month_end('period_start') }} < {{ as_of_date() }} then {{ month_end('period_start') }}
             else {{ as_of_date() }} end
        as {{ type_date() }}
    ) as period_end,
    cast({{ dbt.date_trunc('quarter', 'period_start') }} as {{ type_date() }}) as quarter_start,
    case when {{ month_end('period_start') }} <= {{ as_of_date() }} then true else false end as is_complete
from months
