-- One row per period (month, quarter) and level (team, region, company) group, for periods starting on or
-- before the as-of date: quota, bookings to date, open and weighted pipeline, coverage, the forecast made
-- at the period's first day and, for closed periods, its absolute percentage error.
-- Weighted pipeline here: Σ amount × the stage default win probability in [0, 1] (seed
-- stage_probabilities), a pure function of the drop and the as-of date. The ML-weighted figures (METRICS.md:
-- the ML score where present) are computed after the deal scores, by the Dagster asset ml_forecast_weighted
-- (table ml.forecast_weighted), never read back into dbt: a rerun on the same inputs builds the same mart.
-- Forecast (METRICS.md): weighted pipeline as of the period's first day plus bookings to date, compared
-- with actual bookings.

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
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'quarter_start')) }} as {{ type_date() }})
            as period_end
    from months

),

periods_as_of as (

    select
        periods.*,
        case
            when periods.period_end < {{ as_of_date() }} then periods.period_end
            else {{ as_of_date() }}
        end as reference_date,
        case when periods.period_end <= {{ as_of_date() }} then true else false end as is_closed_period
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
        cast(won_at as {{ type_date() }}) as won_date,
        amount_cny,
        is_won
    from {{ ref('fct_opportunities') }}

),

-- every deal open at the end of each state date, in its state then (macro deal_state_as_of)
deal_states as (

    {{ deal_state_as_of('state_dates', 'state_date') }}

),

weighted_state as (

    select
        st.state_date,
        st.opportunity_id,
        o.team_id,
        o.region,
        st.stage,
        st.amount_cny,
        st.expected_close_date,
        sp.default_probability as stage_probability
    from deal_states as st
    inner join deals as o
        on o.opportunity_id = st.opportunity_id
    left join {{ ref('stage_probabilities') }} as sp
        on sp.stage = st.stage

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
        p.period_type,
        p.period_start,
        '{{ level }}' as level,
        {{ key if key.startswith("'") else 'w.' ~ key }} as group_id,
        sum(w.amount_cny) as open_pipeline_cny,
        sum(
            case
                when w.expected_close_date between p.period_start and p.period_end then w.amount_cny
                else 0
            end
        ) as pipeline_in_period_cny,
        sum(case
            when w.expected_close_date between p.period_start and p.period_end
                then w.amount_cny * w.stage_probability
            else 0
        end) as weighted_pipeline_cny,
        0 as weighted_pipeline_at_start_cny,
        0 as bookings_cny,
        0 as bookings_first_day_cny,
        cast(null as {{ type_money() }}) as quota_cny
    from periods_as_of as p
    inner join weighted_state as w
        on w.state_date = p.reference_date
    group by 1, 2, 3, 4

    union all

    -- the branches below are positional: the first branch names the columns
    -- noqa: disable=AL03
    -- {{ level }}: weighted pipeline at the period's first day
    select
        p.period_type,
        p.period_start,
        '{{ level }}',
        {{ key if key.startswith("'") else 'w.' ~ key }},
        0,
        0,
        0,
        sum(case
            when w.expected_close_date between p.period_start and p.period_end
                then w.amount_cny * w.stage_probability
            else 0
        end),
        0,
        0,
        cast(null as {{ type_money() }})
    from periods_as_of as p
    inner join weighted_state as w
        on w.state_date = p.period_start
    group by 1, 2, 3, 4

    union all

    -- {{ level }}: bookings in the period up to the as-of date (and on its first day)
    select
        p.period_type,
        p.period_start,
        '{{ level }}',
        {{ key if key.startswith("'") else 'd.' ~ key }},
        0,
        0,
        0,
        0,
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
        p.period_type,
        p.period_start,
        '{{ level }}',
        {{ key if key.startswith("'") else 'q.' ~ key }},
        0,
        0,
        0,
        0,
        0,
        0,
        sum(q.quota_cny)
    from periods_as_of as p
    inner join quotas as q
        on q.month_start between p.period_start and p.period_end
    group by 1, 2, 3, 4
    -- noqa: enable=AL03
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
    group by 1, 2, 3, 4

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
        case
            when s.quota_cny - s.bookings_cny > 0
                then {{ safe_divide('s.pipeline_in_period_cny', 's.quota_cny - s.bookings_cny') }}
        end
        as {{ type_double() }}
    ) as pipeline_coverage,
    cast(s.weighted_pipeline_at_start_cny + s.bookings_first_day_cny as {{ type_double() }})
        as forecast_at_start_cny,
    cast(s.bookings_cny + s.weighted_pipeline_cny as {{ type_double() }}) as forecast_current_cny,
    cast(case when p.is_closed_period then s.bookings_cny end as {{ type_money() }}) as actual_bookings_cny,
    cast(
        case
            when p.is_closed_period then {{ safe_divide(
                'abs(s.weighted_pipeline_at_start_cny + s.bookings_first_day_cny - s.bookings_cny)',
                's.bookings_cny'
            ) }}
        end
        as {{ type_double() }}
    ) as forecast_abs_pct_error
from summed as s
inner join periods_as_of as p
    on p.period_type = s.period_type
    and p.period_start = s.period_start
