-- One row per period (month, quarter) and level (team, region, company) group, for periods starting on or
-- before the as-of date: quota, bookings to date, open and weighted pipeline, coverage, the forecast made
-- at the period's first day and, for closed periods, its absolute percentage error.
-- Weighted pipeline: Σ amount × win probability in [0, 1] — the ML score where present (table
-- `ml.deal_scores`, scores as of the as-of date), else the stage default (macro stage_default_probability).
-- Forecast (METRICS.md): weighted pipeline as of the period's first day plus bookings to date, compared
-- with actual bookings.

{%- set ml_relation = adapter.get_relation(database=target.database, schema='ml', identifier='deal_scores') if execute else none %}
{%- set levels = [('team', 'team_id'), ('region', 'region'), ('company', "'all'")] %}

with months as (

    select * from {{ ref('int_months') }}

),

periods as (

    select
        'month' as period_type,
        month_start as period_start,
        month_end as period_end
    from months

    union all

    select distinct
        'quarter' as period_type,
        quarter_start as period_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'quarter_start')) }} as {{ type_date() }}) as period_end
    from months

),

periods_as_of as (

    select
        periods.*,
        case when period_end < {{ as_of_date() }} then period_end else {{ as_of_date() }} end as reference_date,
        case when period_end <= {{ as_of_date() }} then true else false end as is_closed_period
    from periods

),

-- the days the pipeline is looked at: each period's first day and its reference date (end, or as-of)
state_dates as (

    select period_start as state_date from periods_as_of
    union
    select reference_date as state_date from periods_as_of

),

deals as (

    select
        opportunity_id,
        coalesce(team_id, 'unassigned') as team_id,
        coalesce(region, 'unassigned') as region,
        currency,
        created_date,
        cast(won_at as {{ type_date() }}) as won_date,
        cast(lost_at as {{ type_date() }}) as lost_date,
        amount_cny,
        is_won
    from {{ ref('fct_opportunities') }}

),

stage_events as (

    select
        opportunity_id,
        stage,
        cast(entered_at as {{ type_date() }}) as entered_date,
        cast(left_at as {{ type_date() }}) as left_date
    from {{ ref('int_opportunity_stage_events') }}

),

value_intervals as (

    select * from {{ ref('int_opportunity_value_intervals') }}

),

fx as (

    select * from {{ ref('int_fx_rates_daily') }}

),

{%- if ml_relation is not none %}
ml_scores as (

    -- one score per deal, scored for this as-of date (a score of another date is not used)
    {%- set ml_columns = adapter.get_columns_in_relation(ml_relation) | map(attribute='name') | map('lower') | list %}
    select
        opportunity_id,
        max(cast(win_probability as {{ type_double() }})) as win_probability
    from {{ ml_relation }}
    where win_probability between 0 and 1
    {%- if 'as_of' in ml_columns %}
      and cast(as_of as {{ type_date() }}) = {{ as_of_date() }}
    {%- endif %}
    group by opportunity_id

),
{%- endif %}

-- every deal open at the end of each state date, with its stage, amount and expected close date then
open_state as (

    select
        d.state_date,
        o.opportunity_id,
        o.team_id,
        o.region,
        s.stage,
        {{ to_cny('a.amount_value', 'o.currency', 'fx.rate_to_cny') }} as amount_cny,
        c.date_value as expected_close_date
    from state_dates as d
    inner join deals as o
        on o.created_date <= d.state_date
        and (o.won_date is null or o.won_date > d.state_date)
        and (o.lost_date is null or o.lost_date > d.state_date)
    left join stage_events as s
        on s.opportunity_id = o.opportunity_id
        and s.entered_date <= d.state_date
        and (s.left_date is null or s.left_date > d.state_date)
    left join value_intervals as a
        on a.opportunity_id = o.opportunity_id
        and a.field_name = 'amount'
        and (a.valid_from_date is null or a.valid_from_date <= d.state_date)
        and (a.valid_to_date is null or a.valid_to_date > d.state_date)
    left join value_intervals as c
        on c.opportunity_id = o.opportunity_id
        and c.field_name = 'expected_close_date'
        and (c.valid_from_date is null or c.valid_from_date <= d.state_date)
        and (c.valid_to_date is null or c.valid_to_date > d.state_date)
    left join fx
        on fx.rate_date = o.created_date
        and fx.currency = o.currency

),

weighted_state as (

    select
        os.*,
        {{ stage_default_probability('os.stage') }} as stage_probability,
        {%- if ml_relation is not none %}
        case when os.state_date = {{ as_of_date() }} and ml.win_probability is not null
            then ml.win_probability else {{ stage_default_probability('os.stage') }} end as win_probability
        {%- else %}
        {{ stage_default_probability('os.stage') }} as win_probability
        {%- endif %}
    from open_state as os
    {%- if ml_relation is not none %}
    left join ml_scores as ml
        on ml.opportunity_id = os.opportunity_id
    {%- endif %}

),

quotas as (

    select
        q.month_start,
        coalesce(u.team_id, 'unassigned') as team_id,
        coalesce(u.region, 'unassigned') as region,
        q.quota_cny
    from {{ ref('stg_crm__quotas') }} as q
    left join {{ ref('dim_users') }} as u
        on u.user_id = q.user_id

),

by_level as (

    {%- for level, key in levels %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    -- {{ level }}: pipeline at the reference date
    select
        p.period_type, p.period_start, '{{ level }}' as level, {{ key if key.startswith("'") else 'w.' ~ key }} as group_id,
        sum(w.amount_cny) as open_pipeline_cny,
        sum(case when w.expected_close_date between p.period_start and p.period_end then w.amount_cny else 0 end)
            as pipeline_in_period_cny,
        sum(case when w.expected_close_date between p.period_start and p.period_end
                 then w.amount_cny * w.win_probability else 0 end) as weighted_pipeline_cny,
        0 as weighted_pipeline_at_start_cny,
        0 as bookings_cny,
        0 as bookings_first_day_cny,
        cast(null as {{ type_money() }}) as quota_cny
    from periods_as_of as p
    inner join weighted_state as w
        on w.state_date = p.reference_date
    group by 1, 2, 3, 4

    union all

    -- {{ level }}: weighted pipeline at the period's first day (stage defaults: no score existed then)
    select
        p.period_type, p.period_start, '{{ level }}', {{ key if key.startswith("'") else 'w.' ~ key }},
        0, 0, 0,
        sum(case when w.expected_close_date between p.period_start and p.period_end
                 then w.amount_cny * w.stage_probability else 0 end),
        0, 0, cast(null as {{ type_money() }})
    from periods_as_of as p
    inner join weighted_state as w
        on w.state_date = p.period_start
    group by 1, 2, 3, 4

    union all

    -- {{ level }}: bookings in the period up to the as-of date (and on its first day)
    select
        p.period_type, p.period_start, '{{ level }}', {{ key if key.startswith("'") else 'd.' ~ key }},
        0, 0, 0, 0,
        sum(d.amount_cny),
        sum(case when d.won_date = p.period_start then d.amount_cny else 0 end),
        cast(null as {{ type_money() }})
    from periods_as_of as p
    inner join deals as d
        on d.is_won
        and d.won_date between p.period_start and p.reference_date
    group by 1, 2, 3, 4

    union all

    -- {{ level }}: quotas of the period's months
    select
        p.period_type, p.period_start, '{{ level }}', {{ key if key.startswith("'") else 'q.' ~ key }},
        0, 0, 0, 0, 0, 0,
        sum(q.quota_cny)
    from periods_as_of as p
    inner join quotas as q
        on q.month_start between p.period_start and p.period_end
    group by 1, 2, 3, 4
    {%- endfor %}

),

summed as (

    select
        period_type,
        period_start,
        level,
        group_id,
        sum(open_pipeline_cny) as open_pipeline_cny,
        sum(pipeline_in_period_cny) as pipeline_in_period_cny,
        sum(weighted_pipeline_cny) as weighted_pipeline_cny,
        sum(weighted_pipeline_at_start_cny) as weighted_pipeline_at_start_cny,
        sum(bookings_cny) as bookings_cny,
        sum(bookings_first_day_cny) as bookings_first_day_cny,
        sum(quota_cny) as quota_cny
    from by_level
    group by period_type, period_start, level, group_id

)

select
    cast(s.period_type as {{ dbt.type_string() }}) as period_type,
    cast(s.period_start as {{ type_date() }}) as period_start,
    cast(p.period_end as {{ type_date() }}) as period_end,
    cast(s.level as {{ dbt.type_string() }}) as level,
    cast(s.group_id as {{ dbt.type_string() }}) as group_id,
    p.is_closed_period,
    cast(p.reference_date as {{ type_date() }}) as reference_date,
    cast(s.quota_cny as {{ type_money() }}) as quota_cny,
    cast(s.bookings_cny as {{ type_money() }}) as bookings_to_date_cny,
    cast(s.open_pipeline_cny as {{ type_money() }}) as open_pipeline_cny,
    cast(s.pipeline_in_period_cny as {{ type_money() }}) as pipeline_in_period_cny,
    cast(s.weighted_pipeline_cny as {{ type_double() }}) as weighted_pipeline_cny,
    -- no coverage once bookings reach the quota (nothing left to cover)
    cast(
        case when s.quota_cny - s.bookings_cny > 0
            then {{ safe_divide('s.pipeline_in_period_cny', 's.quota_cny - s.bookings_cny') }} end
        as {{ type_double() }}
    ) as pipeline_coverage,
    cast(s.weighted_pipeline_at_start_cny + s.bookings_first_day_cny as {{ type_double() }}) as forecast_at_start_cny,
    cast(s.bookings_cny + s.weighted_pipeline_cny as {{ type_double() }}) as forecast_current_cny,
    cast(case when p.is_closed_period then s.bookings_cny end as {{ type_money() }}) as actual_bookings_cny,
    cast(
        case when p.is_closed_period then
            {{ safe_divide('abs(s.weighted_pipeline_at_start_cny + s.bookings_first_day_cny - s.bookings_cny)', 's.bookings_cny') }}
        end
        as {{ type_double() }}
    ) as forecast_abs_pct_error
from summed as s
inner join periods_as_of as p
    on p.period_type = s.period_type
    and p.period_start = s.period_start
