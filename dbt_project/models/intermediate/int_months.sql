-- One row per calendar month from the first opportunity's month through the as-of date's month:
-- its first and last day, and the day its stock figures are taken on (period_end: the month's last day,
-- or the as-of date for the as-of month). The months of the date spine (int_date_spine).

with bounds as (

    select
        cast({{ dbt.date_trunc('month', 'min(created_date)') }} as {{ type_date() }}) as start_month,
        cast({{ dbt.date_trunc('month', as_of_date()) }} as {{ type_date() }}) as end_month
    from {{ ref('stg_crm__opportunities') }}
    where {{ on_or_before_as_of('created_at') }}

),

months as (

    select distinct
        spine.month_start,
        spine.month_end,
        spine.quarter_start
    from {{ ref('int_date_spine') }} as spine
    inner join bounds
        on spine.month_start between bounds.start_month and bounds.end_month

)

select
    cast(month_start as {{ type_date() }}) as month_start,
    cast(month_end as {{ type_date() }}) as month_end,
    cast(
        case
            when month_end < {{ as_of_date() }} then month_end
            else {{ as_of_date() }}
        end
        as {{ type_date() }}
    ) as period_end,
    cast(quarter_start as {{ type_date() }}) as quarter_start,
    case when month_end <= {{ as_of_date() }} then true else false end as is_complete
from months
