-- One row per month and level (team, region, company) group: sales velocity over the trailing 12 months
-- ending at the month's period_end. Sales velocity (per day) = open deal count × win rate × average deal
-- size ÷ mean sales cycle days, each over the trailing 12 months (open deals counted at the period end).

with performance as (

    select * from {{ ref('int_sales_performance') }}
    where level in ('team', 'region', 'company')

),

trailing_12m as (

    select
        cur.level,
        cur.group_id,
        cur.month,
        cur.period_end,
        cur.open_count,
        sum(prev.bookings_cny) as bookings_cny,
        sum(prev.won_count) as won_count,
        sum(prev.lost_count) as lost_count,
        sum(prev.cycle_days_sum) as cycle_days_sum
    from performance as cur
    inner join performance as prev
        on prev.level = cur.level
        and prev.group_id = cur.group_id
        and prev.month <= cur.month
        and prev.month > {{ dbt.dateadd('month', -var('velocity_window_months'), 'cur.month') }}
    group by cur.level, cur.group_id, cur.month, cur.period_end, cur.open_count

),

measured as (

    select
        trailing_12m.*,
        {{ safe_divide('won_count', 'won_count + lost_count') }} as win_rate_12m,
        {{ safe_divide('bookings_cny', 'won_count') }} as avg_deal_size_12m_cny,
        {{ safe_divide('cycle_days_sum', 'won_count') }} as cycle_days_mean_12m
    from trailing_12m

)

select
    cast(level as {{ dbt.type_string() }}) as level,
    cast(group_id as {{ dbt.type_string() }}) as group_id,
    cast(month as {{ type_date() }}) as month,
    cast(period_end as {{ type_date() }}) as period_end,
    cast(open_count as {{ dbt.type_bigint() }}) as open_count,
    cast(won_count as {{ dbt.type_bigint() }}) as won_count_12m,
    cast(lost_count as {{ dbt.type_bigint() }}) as lost_count_12m,
    cast(bookings_cny as {{ type_money() }}) as bookings_12m_cny,
    cast(win_rate_12m as {{ type_double() }}) as win_rate_12m,
    cast(avg_deal_size_12m_cny as {{ type_double() }}) as avg_deal_size_12m_cny,
    cast(cycle_days_mean_12m as {{ type_double() }}) as cycle_days_mean_12m,
    cast(
        {{ safe_divide('open_count * win_rate_12m * avg_deal_size_12m_cny', 'cycle_days_mean_12m') }}
        as {{ type_double() }}
    ) as sales_velocity_cny_per_day
from measured
