-- One row per month from the first opportunity's month through the as-of month: the brief's headline
-- KPIs. Stock figures (repurchase rate, churn rate, DSO) are taken at the month's period_end.

with bookings as (

    select * from {{ ref('mart_bookings_monthly') }}

),

months as (

    select * from {{ ref('int_months') }}

),

reps as (

    -- sales reps with a quota in the month (quotas run while a rep is employed)
    select
        q.month_start,
        count(distinct q.user_id) as reps_with_quota
    from {{ ref('stg_crm__quotas') }} as q
    inner join {{ ref('dim_users') }} as u
        on u.user_id = q.user_id
    where u.role = 'sales_rep'
    group by q.month_start

),

customers as (

    select * from {{ ref('int_customers') }}

),

repurchase as (

    -- of the customers whose first purchase is at least 12 months before the period end, the share with a
    -- second won deal within 12 months of the first
    select
        m.month_start,
        count(*) as eligible_customers,
        sum(case
            when
                c.second_purchase_date is not null
                and c.second_purchase_date
                <= {{ dbt.dateadd('month', var('repurchase_window_months'), 'c.first_purchase_date') }}
                then 1
            else 0
        end) as repurchasers
    from months as m
    inner join customers as c
        on {{ dbt.dateadd('month', var('repurchase_window_months'), 'c.first_purchase_date') }}
        <= m.period_end
    group by m.month_start

),

activity_events as (

    select
        account_id,
        event_date
    from {{ ref('int_customer_events') }}
    where event_type in ('won_deal', 'invoice')

),

-- each customer's last won deal or invoice on or before a date, at the period end and one churn-rate period
-- (var churn_rate_period_months) earlier
customer_dates as (

    select
        m.month_start,
        m.period_end,
        cast(
            {{ dbt.dateadd('month', -var('churn_rate_period_months'), 'm.period_end') }}
            as {{ type_date() }}
        ) as year_before,
        c.account_id
    from months as m
    inner join customers as c
        on c.first_purchase_date
        <= {{ dbt.dateadd('month', -var('churn_rate_period_months'), 'm.period_end') }}

),

last_activity as (

    select
        cd.month_start,
        cd.account_id,
        max(case when e.event_date <= cd.year_before then e.event_date end) as last_activity_year_before,
        max(e.event_date) as last_activity_at_end
    from customer_dates as cd
    inner join activity_events as e
        on e.account_id = cd.account_id
        and e.event_date <= cd.period_end
    group by cd.month_start, cd.account_id

),

churn as (

    -- churn rate per year: of the customers not churned 12 months before the period end, the share that
    -- is churned at the period end (no won deal and no invoice for var churn_months, 12, after the last)
    select
        cd.month_start,
        count(*) as customers_at_start,
        sum(
            case
                when
                    {{ dbt.dateadd('month', var('churn_months'), 'la.last_activity_at_end') }}
                    <= cd.period_end
                    then 1
                else 0
            end
        ) as customers_churned
    from customer_dates as cd
    inner join last_activity as la
        on la.month_start = cd.month_start
        and la.account_id = cd.account_id
    where {{ dbt.dateadd('month', var('churn_months'), 'la.last_activity_year_before') }} > cd.year_before
    group by cd.month_start

),

nps as (

    select
        period_start as month_start,
        nps,
        responses
    from {{ ref('mart_nps') }}
    where period_type = 'month' and segment_type = 'all'

),

dso as (

    select
        month as month_start,
        dso
    from {{ ref('mart_dso_monthly') }}

)

select
    cast(b.month as {{ type_date() }}) as month,
    cast(b.period_end as {{ type_date() }}) as period_end,
    cast(b.bookings_cny as {{ type_money() }}) as bookings_cny,
    cast(b.won_count as {{ dbt.type_bigint() }}) as won_count,
    cast(b.lost_count as {{ dbt.type_bigint() }}) as lost_count,
    cast(b.win_rate as {{ type_double() }}) as win_rate,
    cast(b.cycle_days_mean as {{ type_double() }}) as cycle_days_mean,
    cast(coalesce(r.reps_with_quota, 0) as {{ dbt.type_bigint() }}) as sales_reps,
    cast({{ safe_divide('b.bookings_cny', 'r.reps_with_quota') }} as {{ type_double() }}) as bookings_per_rep,
    cast({{ safe_divide('rp.repurchasers', 'rp.eligible_customers') }} as {{ type_double() }})
        as repurchase_rate,
    cast({{ safe_divide('ch.customers_churned', 'ch.customers_at_start') }} as {{ type_double() }})
        as churn_rate,
    cast(n.nps as {{ type_double() }}) as nps,
    cast(coalesce(n.responses, 0) as {{ dbt.type_bigint() }}) as nps_responses,
    cast(d.dso as {{ type_double() }}) as dso
from bookings as b
left join reps as r
    on r.month_start = b.month
left join repurchase as rp
    on rp.month_start = b.month
left join churn as ch
    on ch.month_start = b.month
left join nps as n
    on n.month_start = b.month
left join dso as d
    on d.month_start = b.month
