-- One row per deal open on the as-of date, with its stall flag and reasons.
-- Stalled deal (METRICS.md): open, and either its days in the current stage exceed the 75th percentile of
-- days in that stage among deals that were later won, or no touchpoint in the last 14 days.

with open_deals as (

    select * from {{ ref('fct_opportunities') }}
    where is_open

),

-- the threshold per stage: p75 of completed stays in the stage among deals won by the as-of date
stage_thresholds as (

    select
        stage,
        {{ percentile_cont('cast(days_in_stage as ' ~ type_double() ~ ')', var('stall_stage_percentile')) }}
            as stage_p75_days,
        count(*) as won_stays
    from {{ ref('fct_stage_transitions') }}
    where
        is_won_deal
        and exited_at is not null
        and days_in_stage is not null
    group by stage

),

last_touches as (

    select
        opportunity_id,
        max(occurred_date) as last_touch_date,
        sum(case when occurred_date > {{ dbt.dateadd('day', -30, as_of_date()) }} then 1 else 0 end)
            as touchpoints_30d
    from {{ ref('fct_touchpoints') }}
    where
        touchpoint_type = 'activity'
        and opportunity_id is not null
    group by opportunity_id

),

scored as (

    select
        d.opportunity_id,
        d.opportunity_name,
        d.account_id,
        d.owner_user_id,
        d.team_id,
        d.region,
        d.lead_source,
        d.product_line,
        d.current_stage,
        d.current_stage_entered_at,
        d.amount_cny,
        d.expected_close_date,
        d.days_in_current_stage,
        t.stage_p75_days,
        {{ days_between('lt.last_touch_date', as_of_date()) }} as days_since_last_touch,
        coalesce(lt.touchpoints_30d, 0) as touchpoints_30d,
        d.push_count,
        d.regression_count,
        case
            when t.stage_p75_days is not null and d.days_in_current_stage > t.stage_p75_days
                then true
            else false
        end as is_stage_overdue,
        -- no touchpoint in the last N days (var stall_no_touch_days, 14): none on the as-of date or the
        -- N-1 days before it. The column and reason keep the name no_touch_14d (a code the dashboards know).
        case
            when
                lt.last_touch_date is null
                or {{ days_between('lt.last_touch_date', as_of_date()) }} >= {{ var('stall_no_touch_days') }}
                then true
            else false
        end as is_no_touch_14d
    from open_deals as d
    left join stage_thresholds as t
        on t.stage = d.current_stage
    left join last_touches as lt
        on lt.opportunity_id = d.opportunity_id

)

select
    cast(opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(opportunity_name as {{ dbt.type_string() }}) as opportunity_name,
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(lead_source as {{ dbt.type_string() }}) as lead_source,
    cast(product_line as {{ dbt.type_string() }}) as product_line,
    cast(current_stage as {{ dbt.type_string() }}) as current_stage,
    cast(current_stage_entered_at as {{ dbt.type_timestamp() }}) as current_stage_entered_at,
    cast(amount_cny as {{ type_money() }}) as amount_cny,
    cast(expected_close_date as {{ type_date() }}) as expected_close_date,
    cast(days_in_current_stage as {{ dbt.type_int() }}) as days_in_current_stage,
    cast(stage_p75_days as {{ type_double() }}) as stage_p75_days,
    cast(days_in_current_stage - stage_p75_days as {{ type_double() }}) as days_over_stage_p75,
    cast(days_since_last_touch as {{ dbt.type_int() }}) as days_since_last_touch,
    cast(touchpoints_30d as {{ dbt.type_int() }}) as touchpoints_30d,
    cast(push_count as {{ dbt.type_int() }}) as push_count,
    cast(regression_count as {{ dbt.type_int() }}) as regression_count,
    is_stage_overdue,
    is_no_touch_14d,
    case when is_stage_overdue or is_no_touch_14d then true else false end as is_stalled,
    cast(
        case
            when is_stage_overdue and is_no_touch_14d then 'stage_overdue;no_touch_14d'
            when is_stage_overdue then 'stage_overdue'
            when is_no_touch_14d then 'no_touch_14d'
            else ''
        end
        as {{ dbt.type_string() }}
    ) as stall_reasons,
    -- every warning sign, stalled or not: the stall reasons, then pushes, regressions, a passed close date
    cast(
        {{ dbt.concat([
            "case when is_stage_overdue then 'stage_overdue;' else '' end",
            "case when is_no_touch_14d then 'no_touch_14d;' else '' end",
            "case when push_count >= 2 then 'pushed_2plus;' else '' end",
            "case when regression_count > 0 then 'regressed;' else '' end",
            "case when expected_close_date < " ~ as_of_date() ~ " then 'past_expected_close;' else '' end",
        ]) }}
        as {{ dbt.type_string() }}
    ) as risk_reasons
from scored
