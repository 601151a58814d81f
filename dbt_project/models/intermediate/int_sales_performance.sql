{{ config(materialized='table') }}
-- Materialised as a table (not a view): several marts read it, so it is computed once per build.
-- One row per level (rep, team, region, company), group and month: the additive parts of the sales
-- performance metrics (sums and counts, never ratios), so every level rolls up by summing.
-- A deal counts for its owner, the owner's team and region, and the company; a quota for its rep, the
-- rep's team and region, and the company.

{%- set levels = [
    ('rep', 'owner_user_id'),
    ('team', 'team_id'),
    ('region', 'region'),
    ('company', "'all'"),
] %}

with deals as (

    select
        opportunity_id,
        owner_user_id,
        coalesce(team_id, 'unassigned') as team_id,
        coalesce(region, 'unassigned') as region,
        amount_cny,
        cycle_days,
        created_date,
        cast(won_at as {{ type_date() }}) as won_date,
        cast(lost_at as {{ type_date() }}) as lost_date,
        is_won,
        is_lost
    from {{ ref('fct_opportunities') }}

),

months as (

    select * from {{ ref('int_months') }}

),

quotas as (

    select
        q.user_id as owner_user_id,
        coalesce(u.team_id, 'unassigned') as team_id,
        coalesce(u.region, 'unassigned') as region,
        q.month_start,
        q.quota_cny
    from {{ ref('stg_crm__quotas') }} as q
    left join {{ ref('dim_users') }} as u
        on u.user_id = q.user_id

),

touches as (

    select
        t.user_id as owner_user_id,
        coalesce(u.team_id, 'unassigned') as team_id,
        coalesce(u.region, 'unassigned') as region,
        cast({{ dbt.date_trunc('month', 't.occurred_date') }} as {{ type_date() }}) as month_start
    from {{ ref('fct_touchpoints') }} as t
    left join {{ ref('dim_users') }} as u
        on u.user_id = t.user_id
    where t.touchpoint_type = 'activity'

),

facts as (

    {%- for level, key in levels %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    -- {{ level }}: won deals
    select
        '{{ level }}' as level,
        {{ key }} as group_id,
        cast({{ dbt.date_trunc('month', 'won_date') }} as {{ type_date() }}) as month_start,
        amount_cny as bookings_cny,
        1 as won_count,
        0 as lost_count,
        cast(0 as {{ type_money() }}) as lost_amount_cny,
        cycle_days,
        cast(null as {{ type_money() }}) as quota_cny,
        0 as touchpoints
    from deals
    where is_won

    union all

    -- the branches below are positional: the first branch names the columns
    -- noqa: disable=AL03
    -- {{ level }}: lost deals
    select
        '{{ level }}',
        {{ key }},
        cast({{ dbt.date_trunc('month', 'lost_date') }} as {{ type_date() }}),
        cast(0 as {{ type_money() }}),
        0,
        1,
        amount_cny,
        cast(null as {{ dbt.type_bigint() }}),
        cast(null as {{ type_money() }}),
        0
    from deals
    where is_lost

    union all

    -- {{ level }}: quotas
    select
        '{{ level }}',
        {{ key }},
        month_start,
        cast(0 as {{ type_money() }}),
        0,
        0,
        cast(0 as {{ type_money() }}),
        cast(null as {{ dbt.type_bigint() }}),
        quota_cny,
        0
    from quotas

    union all

    -- {{ level }}: touchpoints
    select
        '{{ level }}',
        {{ key }},
        month_start,
        cast(0 as {{ type_money() }}),
        0,
        0,
        cast(0 as {{ type_money() }}),
        cast(null as {{ dbt.type_bigint() }}),
        cast(null as {{ type_money() }}),
        1
    from touches
    -- noqa: enable=AL03
    {%- endfor %}

),

monthly as (

    select
        level,
        group_id,
        month_start,
        sum(bookings_cny) as bookings_cny,
        sum(won_count) as won_count,
        sum(lost_count) as lost_count,
        sum(lost_amount_cny) as lost_amount_cny,
        sum(cycle_days) as cycle_days_sum,
        avg(cast(cycle_days as {{ type_double() }})) as cycle_days_mean,
        {{ median('cast(cycle_days as ' ~ type_double() ~ ')') }} as cycle_days_median,
        sum(quota_cny) as quota_cny,
        sum(touchpoints) as touchpoints
    from facts
    where group_id is not null
    group by level, group_id, month_start

),

open_pipeline as (

    {%- for level, key in levels %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        '{{ level }}' as level,
        {{ key if key == "'all'" else 'd.' ~ key }} as group_id,
        m.month_start,
        d.amount_cny
    from months as m
    inner join deals as d
        on d.created_date <= m.period_end
        and (d.won_date is null or d.won_date > m.period_end)
        and (d.lost_date is null or d.lost_date > m.period_end)
    {%- endfor %}

),

open_totals as (

    select
        level,
        group_id,
        month_start,
        sum(amount_cny) as open_pipeline_cny,
        count(*) as open_count
    from open_pipeline
    where group_id is not null
    group by level, group_id, month_start

),

groups as (

    select distinct
        level,
        group_id
    from monthly
    union
    select distinct
        level,
        group_id
    from open_totals

)

select
    cast(g.level as {{ dbt.type_string() }}) as level,
    cast(g.group_id as {{ dbt.type_string() }}) as group_id,
    cast(m.month_start as {{ type_date() }}) as month,
    cast(m.period_end as {{ type_date() }}) as period_end,
    cast(coalesce(f.bookings_cny, 0) as {{ type_money() }}) as bookings_cny,
    cast(coalesce(f.won_count, 0) as {{ dbt.type_bigint() }}) as won_count,
    cast(coalesce(f.lost_count, 0) as {{ dbt.type_bigint() }}) as lost_count,
    cast(coalesce(f.lost_amount_cny, 0) as {{ type_money() }}) as lost_amount_cny,
    cast(f.cycle_days_sum as {{ dbt.type_bigint() }}) as cycle_days_sum,
    cast(f.cycle_days_mean as {{ type_double() }}) as cycle_days_mean,
    cast(f.cycle_days_median as {{ type_double() }}) as cycle_days_median,
    cast(f.quota_cny as {{ type_money() }}) as quota_cny,
    cast(coalesce(f.touchpoints, 0) as {{ dbt.type_bigint() }}) as touchpoints,
    cast(coalesce(o.open_pipeline_cny, 0) as {{ type_money() }}) as open_pipeline_cny,
    cast(coalesce(o.open_count, 0) as {{ dbt.type_bigint() }}) as open_count
from groups as g
cross join months as m
left join monthly as f
    on f.level = g.level
    and f.group_id = g.group_id
    and f.month_start = m.month_start
left join open_totals as o
    on o.level = g.level
    and o.group_id = g.group_id
    and o.month_start = m.month_start
