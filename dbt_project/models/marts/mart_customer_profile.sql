-- One row per account: recency, frequency and monetary value of its purchases (won deals), historical
-- LTV (collected payments), touchpoints in the last 90 days, lifecycle, repurchase and churn flags and
-- its last NPS answer, all as of the as-of date. Tier, P(alive) and predicted LTV come from the ML models.

with accounts as (

    select * from {{ ref('dim_accounts') }}

),

customers as (

    select * from {{ ref('int_customers') }}

),

touches as (

    select
        account_id,
        max(occurred_date) as last_touch_date,
        sum(case when occurred_date > {{ dbt.dateadd('day', -90, as_of_date()) }} then 1 else 0 end)
            as touchpoints_90d
    from {{ ref('fct_touchpoints') }}
    where
        touchpoint_type = 'activity'
        and account_id is not null
    group by account_id

),

nps_ranked as (

    select
        account_id,
        responded_date,
        score,
        row_number()
            over (partition by account_id order by responded_date desc, response_id desc)
            as answer_rank
    from {{ ref('stg_crm__nps_responses') }}
    where
        responded_date is not null
        and responded_date <= {{ as_of_date() }}

)

select
    cast(a.account_id as {{ dbt.type_string() }}) as account_id,
    cast(a.account_name as {{ dbt.type_string() }}) as account_name,
    cast(a.industry as {{ dbt.type_string() }}) as industry,
    cast(a.region as {{ dbt.type_string() }}) as region,
    cast(a.size_band as {{ dbt.type_string() }}) as size_band,
    cast(a.owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    case when c.account_id is not null then true else false end as is_customer,
    cast(c.first_purchase_date as {{ type_date() }}) as first_purchase_date,
    cast(c.last_purchase_date as {{ type_date() }}) as last_purchase_date,
    cast({{ days_between('c.last_purchase_date', as_of_date()) }} as {{ dbt.type_int() }}) as recency_days,
    cast(coalesce(c.purchase_count, 0) as {{ dbt.type_bigint() }}) as frequency,
    cast(coalesce(c.bookings_cny, 0) as {{ type_money() }}) as monetary_cny,
    cast(coalesce(c.collected_cny, 0) as {{ type_money() }}) as historical_ltv_cny,
    cast(coalesce(t.touchpoints_90d, 0) as {{ dbt.type_bigint() }}) as touchpoints_90d,
    cast(t.last_touch_date as {{ type_date() }}) as last_touch_date,
    cast(
        case
            when c.account_id is null then 'prospect'
            when c.is_churned then 'churned'
            when
                c.first_purchase_date > {{ dbt.dateadd('month', -var('new_customer_months'), as_of_date()) }}
                then 'new'
            else 'active'
        end
        as {{ dbt.type_string() }}
    ) as lifecycle,
    case when c.is_repurchaser then true else false end as is_repurchaser,
    case when c.is_churned then true else false end as is_churned,
    cast(n.score as {{ dbt.type_int() }}) as last_nps_score,
    cast(n.responded_date as {{ type_date() }}) as last_nps_date,
    cast(
        case
            when n.score >= 9 then 'promoter'
            when n.score >= 7 then 'passive'
            when n.score >= 0 then 'detractor'
        end
        as {{ dbt.type_string() }}
    ) as last_nps_category
from accounts as a
left join customers as c
    on c.account_id = a.account_id
left join touches as t
    on t.account_id = a.account_id
left join nps_ranked as n
    on n.account_id = a.account_id
    and n.answer_rank = 1
