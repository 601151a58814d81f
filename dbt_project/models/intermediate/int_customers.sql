-- One row per customer (an account with at least one won deal by the as-of date): first and second
-- purchase, last purchase and last purchase-or-invoice date, purchase count and bookings.

with events as (

    select * from {{ ref('int_customer_events') }}

),

purchases as (

    select
        account_id,
        event_date,
        amount_cny,
        row_number() over (partition by account_id order by event_date, event_id) as purchase_number
    from events
    where event_type = 'won_deal'

),

purchase_summary as (

    select
        account_id,
        min(event_date) as first_purchase_date,
        max(event_date) as last_purchase_date,
        min(case when purchase_number = 2 then event_date end) as second_purchase_date,
        count(*) as purchase_count,
        sum(amount_cny) as bookings_cny
    from purchases
    group by account_id

),

activity as (

    select
        account_id,
        max(event_date) as last_activity_date
    from events
    where event_type in ('won_deal', 'invoice')
    group by account_id

),

payments as (

    select
        account_id,
        sum(amount_cny) as collected_cny
    from events
    where event_type = 'payment'
    group by account_id

)

select
    p.account_id,
    p.first_purchase_date,
    cast({{ dbt.date_trunc('month', 'p.first_purchase_date') }} as {{ type_date() }}) as first_purchase_month,
    p.second_purchase_date,
    p.last_purchase_date,
    a.last_activity_date,
    p.purchase_count,
    p.bookings_cny,
    coalesce(pay.collected_cny, 0) as collected_cny,
    -- repurchase: a second won deal within 12 months of the first (var repurchase_window_months)
    case
        when
            p.second_purchase_date is not null
            and p.second_purchase_date
            <= {{ dbt.dateadd('month', var('repurchase_window_months'), 'p.first_purchase_date') }}
            then true
        else false
    end as is_repurchaser,
    -- churned: no won deal and no invoice for 12 months after the last (var churn_months)
    case
        when {{ dbt.dateadd('month', var('churn_months'), 'a.last_activity_date') }} <= {{ as_of_date() }}
            then true
        else false
    end as is_churned
from purchase_summary as p
left join activity as a
    on a.account_id = p.account_id
left join payments as pay
    on pay.account_id = p.account_id
