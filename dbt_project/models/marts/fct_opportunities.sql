-- One row per opportunity created on or before the as-of date, in its state as of that date.
-- Life-cycle dates come from the stage history (int_opportunity_stage_events); amount and expected
-- close date as they stood on the as-of date (int_opportunity_field_changes).

with opportunities as (

    select *
    from {{ ref('stg_crm__opportunities') }}
    where {{ on_or_before_as_of('created_at') }}

),

as_of_values as (

    select * from {{ ref('int_opportunity_field_changes') }}

),

milestones as (

    select
        opportunity_id,
        -- stage reached: a deal that jumps to contract_signed is won at that moment
        min(case when stage in {{ sql_list(won_stages()) }} then first_entered_at end) as won_at,
        min(case when stage = 'contract_signed' then first_entered_at end) as signed_at
    from {{ ref('int_opportunity_stage_history') }}
    group by opportunity_id

),

stage_events as (

    select * from {{ ref('int_opportunity_stage_events') }}

),

current_stages as (

    select
        opportunity_id,
        stage as current_stage,
        entered_at as current_stage_entered_at
    from stage_events
    where is_current

),

regressions as (

    select
        opportunity_id,
        sum(case when is_regression then 1 else 0 end) as regression_count
    from stage_events
    group by opportunity_id

),

owners as (

    select * from {{ ref('dim_users') }}

),

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

fx as (

    select * from {{ ref('int_fx_rates_daily') }}

),

life_cycle as (

    select
        o.opportunity_id,
        o.opportunity_name,
        o.account_id,
        o.lead_id,
        o.owner_user_id,
        o.lead_source,
        o.product_line,
        v.amount,
        o.currency,
        o.created_at,
        o.created_date,
        m.won_at,
        m.signed_at,
        -- a won deal stays won; a deal is lost when its current stage is lost
        case when m.won_at is null and cs.current_stage = 'lost' then cs.current_stage_entered_at end
            as lost_at,
        cs.current_stage,
        cs.current_stage_entered_at,
        coalesce(r.regression_count, 0) as regression_count,
        coalesce(v.push_count, 0) as push_count,
        v.expected_close_date
    from opportunities as o
    left join as_of_values as v
        on v.opportunity_id = o.opportunity_id
    left join milestones as m
        on m.opportunity_id = o.opportunity_id
    left join current_stages as cs
        on cs.opportunity_id = o.opportunity_id
    left join regressions as r
        on r.opportunity_id = o.opportunity_id

),

converted as (

    select
        lc.*,
        -- bookings convert at the won_at rate, lost deals at the lost_at rate (the event's date),
        -- open deals at the created date's rate
        case
            when lc.won_at is not null then cast(lc.won_at as {{ type_date() }})
            when lc.lost_at is not null then cast(lc.lost_at as {{ type_date() }})
            else lc.created_date
        end as fx_rate_date
    from life_cycle as lc

)

select
    cast(c.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(c.opportunity_name as {{ dbt.type_string() }}) as opportunity_name,
    cast(c.account_id as {{ dbt.type_string() }}) as account_id,
    cast(c.lead_id as {{ dbt.type_string() }}) as lead_id,
    cast(c.owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(owners.team_id as {{ dbt.type_string() }}) as team_id,
    cast(owners.region as {{ dbt.type_string() }}) as region,
    cast(c.lead_source as {{ dbt.type_string() }}) as lead_source,
    cast(accounts.industry as {{ dbt.type_string() }}) as industry,
    cast(c.product_line as {{ dbt.type_string() }}) as product_line,
    cast(c.amount as {{ type_money() }}) as amount,
    cast(c.currency as {{ dbt.type_string() }}) as currency,
    {{ to_cny('c.amount', 'c.currency', 'fx.rate_to_cny') }} as amount_cny,
    cast(c.fx_rate_date as {{ type_date() }}) as fx_rate_date,
    cast(c.created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(c.created_date as {{ type_date() }}) as created_date,
    cast(c.won_at as {{ dbt.type_timestamp() }}) as won_at,
    cast(c.signed_at as {{ dbt.type_timestamp() }}) as signed_at,
    cast(c.lost_at as {{ dbt.type_timestamp() }}) as lost_at,
    case when c.won_at is not null then true else false end as is_won,
    case when c.lost_at is not null then true else false end as is_lost,
    case when c.won_at is not null or c.lost_at is not null then true else false end as is_closed,
    case when c.won_at is null and c.lost_at is null then true else false end as is_open,
    cast(c.current_stage as {{ dbt.type_string() }}) as current_stage,
    cast(c.current_stage_entered_at as {{ dbt.type_timestamp() }}) as current_stage_entered_at,
    cast(
        {{ dbt.datediff('cast(c.current_stage_entered_at as ' ~ type_date() ~ ')', as_of_date(), 'day') }}
        as {{ dbt.type_bigint() }}
    ) as days_in_current_stage,
    cast(
        case
            when c.won_at is not null then
                {{ dbt.datediff('c.created_date', 'cast(c.won_at as ' ~ type_date() ~ ')', 'day') }}
        end
        as {{ dbt.type_bigint() }}
    ) as cycle_days,
    cast(c.push_count as {{ dbt.type_bigint() }}) as push_count,
    cast(c.regression_count as {{ dbt.type_bigint() }}) as regression_count,
    cast(c.expected_close_date as {{ type_date() }}) as expected_close_date
from converted as c
left join owners
    on owners.user_id = c.owner_user_id
left join accounts
    on accounts.account_id = c.account_id
left join fx
    on fx.rate_date = c.fx_rate_date
    and fx.currency = c.currency
