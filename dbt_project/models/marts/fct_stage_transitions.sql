-- One row per opportunity and stage entry up to the as-of date (a stage entered twice, after a
-- regression, has two rows): when the deal entered and left the stage, the days it spent there, the
-- stage it moved to next, and whether that move skipped stages or went back.

with events as (

    select * from {{ ref('int_opportunity_stage_events') }}

),

opportunities as (

    select
        opportunity_id,
        owner_user_id,
        team_id,
        region,
        lead_source,
        is_won,
        is_lost
    from {{ ref('fct_opportunities') }}

),

with_next as (

    select
        events.*,
        lead(events.stage)
            over (partition by events.opportunity_id order by events.entry_number)
            as next_stage,
        lead(events.stage_order)
            over (partition by events.opportunity_id order by events.entry_number)
            as next_stage_order
    from events

)

select
    cast(t.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(t.entry_number as {{ dbt.type_int() }}) as entry_number,
    cast(t.stage as {{ dbt.type_string() }}) as stage,
    cast(t.stage_order as {{ dbt.type_int() }}) as stage_order,
    cast(t.entered_at as {{ dbt.type_timestamp() }}) as entered_at,
    cast(t.left_at as {{ dbt.type_timestamp() }}) as exited_at,
    -- days in stage: until the deal left it, or the as-of date while still in it; terminal stages
    -- (contract_signed, lost) have none
    cast(
        case
            when t.stage in ('contract_signed', 'lost') then null
            when t.left_at is not null
                then
                    {{ days_between(to_date('t.entered_at'), to_date('t.left_at')) }}
            else {{ days_between(to_date('t.entered_at'), as_of_date()) }}
        end
        as {{ dbt.type_int() }}
    ) as days_in_stage,
    cast(t.next_stage as {{ dbt.type_string() }}) as next_stage,
    -- the move out of this stage jumped over at least one stage (lost is no skip)
    case
        when
            t.next_stage_order is not null and t.stage_order is not null
            and t.next_stage_order > t.stage_order + 1 then true
        else false
    end as is_skip,
    -- the move out of this stage went to an earlier stage
    case
        when
            t.next_stage_order is not null and t.stage_order is not null
            and t.next_stage_order < t.stage_order then true
        else false
    end as is_regression,
    -- this entry itself came from a later stage
    t.is_regression as is_regression_entry,
    case when t.left_at is null then true else false end as is_current,
    case
        when t.entry_number = min(t.entry_number) over (partition by t.opportunity_id, t.stage) then true
        else false
    end as is_first_entry,
    cast(o.owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(o.team_id as {{ dbt.type_string() }}) as team_id,
    cast(o.region as {{ dbt.type_string() }}) as region,
    cast(o.lead_source as {{ dbt.type_string() }}) as lead_source,
    o.is_won as is_won_deal,
    o.is_lost as is_lost_deal
from with_next as t
inner join opportunities as o
    on o.opportunity_id = t.opportunity_id
