-- One row per touchpoint up to the as-of date: the unified timeline across channels per account, contact
-- and opportunity: every activity (WeChat, phone, email, social, visit, meeting, demo) and every lead's
-- creation (channel `lead`, with its lead source).

with activities as (

    select * from {{ ref('stg_crm__activities') }}
    where
        occurred_at is not null
        and {{ on_or_before_as_of('occurred_at') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}
    where
        created_at is not null
        and {{ on_or_before_as_of('created_at') }}

),

lead_opportunities as (

    -- the deal a lead became (its first one)
    select
        lead_id,
        min(opportunity_id) as opportunity_id
    from {{ ref('stg_crm__opportunities') }}
    where lead_id is not null
    group by lead_id

),

contacts as (

    select
        contact_id,
        is_decision_maker
    from {{ ref('stg_crm__contacts') }}

)

select
    cast(a.activity_id as {{ dbt.type_string() }}) as touchpoint_id,
    cast('activity' as {{ dbt.type_string() }}) as touchpoint_type,
    cast(a.channel as {{ dbt.type_string() }}) as channel,
    cast(null as {{ dbt.type_string() }}) as lead_source,
    cast(a.occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
    cast(a.occurred_at as {{ type_date() }}) as occurred_date,
    cast(a.account_id as {{ dbt.type_string() }}) as account_id,
    cast(a.contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(a.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(null as {{ dbt.type_string() }}) as lead_id,
    cast(a.user_id as {{ dbt.type_string() }}) as user_id,
    cast(a.direction as {{ dbt.type_string() }}) as direction,
    cast(a.duration_minutes as {{ dbt.type_bigint() }}) as duration_minutes,
    cast(a.subject as {{ dbt.type_string() }}) as subject,
    case when c.is_decision_maker then true else false end as is_decision_maker_contact
from activities as a
left join contacts as c
    on c.contact_id = a.contact_id

union all

select
    cast(l.lead_id as {{ dbt.type_string() }}) as touchpoint_id,
    cast('lead' as {{ dbt.type_string() }}) as touchpoint_type,
    cast('lead' as {{ dbt.type_string() }}) as channel,
    cast(l.lead_source as {{ dbt.type_string() }}) as lead_source,
    cast(l.created_at as {{ dbt.type_timestamp() }}) as occurred_at,
    cast(l.created_at as {{ type_date() }}) as occurred_date,
    cast(l.account_id as {{ dbt.type_string() }}) as account_id,
    cast(null as {{ dbt.type_string() }}) as contact_id,
    cast(lo.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(l.lead_id as {{ dbt.type_string() }}) as lead_id,
    cast(l.owner_user_id as {{ dbt.type_string() }}) as user_id,
    cast(null as {{ dbt.type_string() }}) as direction,
    cast(null as {{ dbt.type_bigint() }}) as duration_minutes,
    cast(l.company_name as {{ dbt.type_string() }}) as subject,
    false as is_decision_maker_contact
from leads as l
left join lead_opportunities as lo
    on lo.lead_id = l.lead_id
