-- One row per first-purchase cohort (month of the first won_at) and month offset (0 = the cohort month,
-- through the as-of month): customers in the cohort, customers retained (a won deal or a paid invoice in
-- that month), retention, the cohort's bookings in that month, and the cohort's 12-month net revenue
-- retention.

with customers as (

    select
        account_id,
        first_purchase_month
    from {{ ref('int_customers') }}

),

months as (

    select month_start from {{ ref('int_months') }}

),

cohort_sizes as (

    select
        first_purchase_month as cohort_month,
        count(*) as cohort_customers
    from customers
    group by first_purchase_month

),

grid as (

    select
        c.cohort_month,
        m.month_start,
        {{ dbt.datediff('c.cohort_month', 'm.month_start', 'month') | trim }} as month_offset,
        c.cohort_customers
    from cohort_sizes as c
    inner join months as m
        on m.month_start >= c.cohort_month

),

monthly_events as (

    -- won deals (purchases, with revenue) and payments (a paid invoice) per customer and month
    select
        e.account_id,
        cast({{ dbt.date_trunc('month', 'e.event_date') }} as {{ type_date() }}) as month_start,
        max(case when e.event_type in ('won_deal', 'payment') then 1 else 0 end) as is_retained,
        sum(case when e.event_type = 'won_deal' then e.amount_cny else 0 end) as revenue_cny
    from {{ ref('int_customer_events') }} as e
    group by e.account_id, cast({{ dbt.date_trunc('month', 'e.event_date') }} as {{ type_date() }})

),

cohort_activity as (

    select
        c.first_purchase_month as cohort_month,
        me.month_start,
        sum(me.is_retained) as customers_retained,
        sum(me.revenue_cny) as revenue_cny
    from customers as c
    inner join monthly_events as me
        on me.account_id = c.account_id
        and me.month_start >= c.first_purchase_month
    group by c.first_purchase_month, me.month_start

),

rows_ as (

    select
        g.cohort_month,
        g.month_start,
        g.month_offset,
        g.cohort_customers,
        coalesce(a.customers_retained, 0) as customers_retained,
        coalesce(a.revenue_cny, 0) as revenue_cny
    from grid as g
    left join cohort_activity as a
        on a.cohort_month = g.cohort_month
        and a.month_start = g.month_start

),

nrr as (

    -- revenue in months 12-23 over months 0-11, for cohorts whose month 23 is complete
    select
        cohort_month,
        sum(case when month_offset between 0 and 11 then revenue_cny else 0 end) as revenue_first_12m,
        sum(case when month_offset between 12 and 23 then revenue_cny else 0 end) as revenue_second_12m
    from rows_
    group by cohort_month

)

select
    cast(r.cohort_month as {{ type_date() }}) as cohort_month,
    cast(r.month_offset as {{ dbt.type_int() }}) as month_offset,
    cast(r.month_start as {{ type_date() }}) as month,
    cast(r.cohort_customers as {{ dbt.type_bigint() }}) as cohort_customers,
    cast(r.customers_retained as {{ dbt.type_bigint() }}) as customers_retained,
    cast({{ safe_divide('r.customers_retained', 'r.cohort_customers') }} as {{ type_double() }}) as retention,
    cast(r.revenue_cny as {{ type_money() }}) as revenue_cny,
    cast(
        case
            when {{ dbt.dateadd('month', 24, 'r.cohort_month') }} <= {{ dbt.dateadd('day', 1, as_of_date()) }}
                then {{ safe_divide('n.revenue_second_12m', 'n.revenue_first_12m') }}
        end
        as {{ type_double() }}
    ) as net_revenue_retention_12m
from rows_ as r
inner join nrr as n
    on n.cohort_month = r.cohort_month
