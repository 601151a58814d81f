-- One row per calendar month, from the month of the first opportunity through the as-of date's month:
-- bookings, won and lost counts, win rate, sales cycle, and the open pipeline at the month's end
-- (at the as-of date for the as-of month).

with opportunities as (

    select
        opportunity_id,
        amount_cny,
        created_date,
        cast(won_at as {{ type_date() }}) as won_date,
        cast(lost_at as {{ type_date() }}) as lost_date,
        cycle_days,
        is_won,
        is_lost
    from {{ ref('fct_opportunities') }}

),

periods as (

    -- the months of the date spine (int_months): first day, last day, and the day stock figures are taken
    select
        month_start,
        month_end,
        period_end
    from {{ ref('int_months') }}

),

won as (

    select
        cast({{ dbt.date_trunc('month', 'won_date') }} as {{ type_date() }}) as month_start,
        sum(amount_cny) as bookings_cny,
        count(*) as won_count,
        avg(cast(cycle_days as {{ type_double() }})) as cycle_days_mean,
        {{ median('cast(cycle_days as ' ~ type_double() ~ ')') }} as cycle_days_median
    from opportunities
    where is_won
    group by 1

),

lost as (

    select
        cast({{ dbt.date_trunc('month', 'lost_date') }} as {{ type_date() }}) as month_start,
        count(*) as lost_count
    from opportunities
    where is_lost
    group by 1

),

open_pipeline as (

    select
        periods.month_start,
        sum(o.amount_cny) as open_pipeline_cny,
        count(*) as open_count
    from periods
    inner join opportunities as o
        on o.created_date <= periods.period_end
        and (o.won_date is null or o.won_date > periods.period_end)
        and (o.lost_date is null or o.lost_date > periods.period_end)
    group by 1

)

select
    cast(periods.month_start as {{ type_date() }}) as month,
    cast(periods.period_end as {{ type_date() }}) as period_end,
    cast(coalesce(won.bookings_cny, 0) as {{ type_money() }}) as bookings_cny,
    cast(coalesce(won.won_count, 0) as {{ dbt.type_bigint() }}) as won_count,
    cast(coalesce(lost.lost_count, 0) as {{ dbt.type_bigint() }}) as lost_count,
    cast(
        case
            when coalesce(won.won_count, 0) + coalesce(lost.lost_count, 0) > 0
                then
                    cast(coalesce(won.won_count, 0) as {{ type_double() }})
                    / (coalesce(won.won_count, 0) + coalesce(lost.lost_count, 0))
        end
        as {{ type_double() }}
    ) as win_rate,
    cast(won.cycle_days_mean as {{ type_double() }}) as cycle_days_mean,
    cast(won.cycle_days_median as {{ type_double() }}) as cycle_days_median,
    cast(coalesce(open_pipeline.open_pipeline_cny, 0) as {{ type_money() }}) as open_pipeline_cny,
    cast(coalesce(open_pipeline.open_count, 0) as {{ dbt.type_bigint() }}) as open_count
from periods
left join won
    on won.month_start = periods.month_start
left join lost
    on lost.month_start = periods.month_start
left join open_pipeline
    on open_pipeline.month_start = periods.month_start
