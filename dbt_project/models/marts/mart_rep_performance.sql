-- One row per user (who owned a deal, had a quota or logged a touchpoint) and month, from the first
-- opportunity's month through the as-of month: bookings, quota and attainment, won and lost counts, win
-- rates, deal size, sales cycle, touchpoints, and the open pipeline at the month's end (period_end).
-- Team, region and company roll-ups (sums, not averages of ratios): mart_sales_performance_rollup.

with performance as (

    select * from {{ ref('int_sales_performance') }}
    where level = 'rep'

),

users as (

    select
        user_id,
        name,
        role,
        team_id,
        region
    from {{ ref('dim_users') }}

)

select
    cast(p.group_id as {{ dbt.type_string() }}) as user_id,
    cast(u.name as {{ dbt.type_string() }}) as user_name,
    cast(u.role as {{ dbt.type_string() }}) as role,
    cast(u.team_id as {{ dbt.type_string() }}) as team_id,
    cast(u.region as {{ dbt.type_string() }}) as region,
    {{ sales_performance_columns('p') }}
from performance as p
left join users as u
    on u.user_id = p.group_id
