-- One row per created-month cohort, lead source, team and stage (initial_contact .. contract_signed):
-- how many deals reached the stage, passed it (reached any later stage) and moved to the next stage
-- directly, the conversions, the median days in the stage, and whether it is the cohort's bottleneck.
-- Stage reached (METRICS.md): a deal that skips a stage still counts as having passed it.

with deals as (

    select
        opportunity_id,
        cast({{ dbt.date_trunc('month', 'created_date') }} as {{ type_date() }}) as cohort_month,
        coalesce(lead_source, 'unknown') as lead_source,
        coalesce(team_id, 'unassigned') as team_id
    from {{ ref('fct_opportunities') }}

),

stages as (

    {%- for s in ordered_stages() %}
    select
        '{{ s }}' as stage,
        {{ loop.index }} as stage_order
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

furthest as (

    -- the furthest stage each deal reached (lost has no order)
    select
        opportunity_id,
        max(stage_order) as max_stage_order
    from {{ ref('int_opportunity_stage_events') }}
    where stage_order is not null
    group by opportunity_id

),

direct_moves as (

    -- the deal moved from the stage to the next one directly at least once
    select distinct
        opportunity_id,
        stage
    from {{ ref('fct_stage_transitions') }}
    where {{ stage_order('next_stage') }} = stage_order + 1

),

stage_days as (

    -- days in the stage per deal, over all its entries into it
    select
        opportunity_id,
        stage,
        sum(days_in_stage) as days_in_stage
    from {{ ref('fct_stage_transitions') }}
    where days_in_stage is not null
    group by opportunity_id, stage

),

deal_stages as (

    select
        d.cohort_month,
        d.lead_source,
        d.team_id,
        s.stage,
        s.stage_order,
        d.opportunity_id,
        case when f.max_stage_order > s.stage_order then 1 else 0 end as is_passed,
        case when dm.opportunity_id is not null then 1 else 0 end as is_strict_next,
        sd.days_in_stage
    from deals as d
    inner join furthest as f
        on f.opportunity_id = d.opportunity_id
    inner join stages as s
        on s.stage_order <= f.max_stage_order
    left join direct_moves as dm
        on dm.opportunity_id = d.opportunity_id
        and dm.stage = s.stage
    left join stage_days as sd
        on sd.opportunity_id = d.opportunity_id
        and sd.stage = s.stage

),

reached as (

    select
        cohort_month,
        lead_source,
        team_id,
        stage,
        count(*) as reached_count,
        sum(is_passed) as passed_count,
        sum(is_strict_next) as strict_next_count,
        {{ median('cast(days_in_stage as ' ~ type_double() ~ ')') }} as median_days_in_stage
    from deal_stages
    group by cohort_month, lead_source, team_id, stage

),

cohorts as (

    select distinct
        cohort_month,
        lead_source,
        team_id
    from deals

),

grid as (

    select
        c.cohort_month,
        c.lead_source,
        c.team_id,
        s.stage,
        s.stage_order,
        coalesce(r.reached_count, 0) as reached_count,
        coalesce(r.passed_count, 0) as passed_count,
        coalesce(r.strict_next_count, 0) as strict_next_count,
        r.median_days_in_stage,
        -- the last stage has no later stage to convert to
        case
            when s.stage_order < {{ ordered_stages() | length }}
                then {{ safe_divide('r.passed_count', 'r.reached_count') }}
        end as passing_conversion,
        case
            when s.stage_order < {{ ordered_stages() | length }}
                then {{ safe_divide('r.strict_next_count', 'r.reached_count') }}
        end as strict_conversion
    from cohorts as c
    cross join stages as s
    left join reached as r
        on r.cohort_month = c.cohort_month
        and r.lead_source = c.lead_source
        and r.team_id = c.team_id
        and r.stage = s.stage

),

ranked as (

    select
        grid.*,
        case
            when grid.passing_conversion is null then null
            else row_number() over (
                partition by
                    grid.cohort_month, grid.lead_source, grid.team_id,
                    case when grid.passing_conversion is null then 1 else 0 end
                order by grid.passing_conversion, grid.stage_order
            )
        end as conversion_rank
    from grid

)

select
    cast(cohort_month as {{ type_date() }}) as cohort_month,
    cast(lead_source as {{ dbt.type_string() }}) as lead_source,
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(stage as {{ dbt.type_string() }}) as stage,
    cast(stage_order as {{ dbt.type_int() }}) as stage_order,
    cast(reached_count as {{ dbt.type_bigint() }}) as reached_count,
    cast(passed_count as {{ dbt.type_bigint() }}) as passed_count,
    cast(strict_next_count as {{ dbt.type_bigint() }}) as strict_next_count,
    cast(passing_conversion as {{ type_double() }}) as passing_conversion,
    cast(strict_conversion as {{ type_double() }}) as strict_conversion,
    cast(median_days_in_stage as {{ type_double() }}) as median_days_in_stage,
    case when conversion_rank = 1 then true else false end as is_bottleneck
from ranked
