-- One row per channel (lead source) and month: leads and opportunities created, spend, cost per
-- opportunity, deals won and bookings under first-touch, last-touch and linear attribution, ROI and CAC.
-- Attribution (METRICS.md) runs over the marketing touchpoints of a won deal before won_at: its own lead
-- and the account's leads (each with its lead source); a won deal without any is credited to its own
-- lead source. Each model credits every won deal exactly once, so each model's bookings add up to total
-- bookings.

with months as (

    select month_start from {{ ref('int_months') }}

),

leads as (

    select
        lead_id,
        account_id,
        coalesce(lead_source, 'unknown') as channel,
        created_at
    from {{ ref('stg_crm__leads') }}
    where
        created_at is not null
        and {{ on_or_before_as_of('created_at') }}

),

deals as (

    select * from {{ ref('fct_opportunities') }}

),

won as (

    select
        opportunity_id,
        account_id,
        lead_id,
        coalesce(lead_source, 'unknown') as lead_source,
        created_at,
        won_at,
        amount_cny,
        -- a new customer: the account's first-ever won deal
        case
            when row_number() over (partition by account_id order by won_at, opportunity_id) = 1
                then 1
            else 0
        end as is_new_customer
    from deals
    where is_won

),

-- the won deal's own lead and the account's leads created before won_at (two equi-joins: no OR join)
candidate_touches as (

    select
        w.opportunity_id,
        l.lead_id,
        l.channel,
        l.created_at as touched_at
    from won as w
    inner join leads as l
        on l.lead_id = w.lead_id
        and l.created_at <= w.won_at

    union

    select
        w.opportunity_id,
        l.lead_id,
        l.channel,
        l.created_at as touched_at
    from won as w
    inner join leads as l
        on l.account_id = w.account_id
        and l.created_at <= w.won_at

),

touches as (

    select * from candidate_touches

    union all

    -- no marketing touchpoint: credited to the deal's own lead source
    select
        w.opportunity_id,
        cast(null as {{ dbt.type_string() }}) as lead_id,
        w.lead_source as channel,
        w.created_at as touched_at
    from won as w
    where not exists (
        select 1 from candidate_touches as c
        where c.opportunity_id = w.opportunity_id
    )

),

weighted as (

    select
        t.opportunity_id,
        t.channel,
        case when row_number() over (
            partition by t.opportunity_id order by t.touched_at, t.lead_id
        ) = 1 then 1.0 else 0.0 end as w_first,
        case when row_number() over (
            partition by t.opportunity_id order by t.touched_at desc, t.lead_id desc
        ) = 1 then 1.0 else 0.0 end as w_last,
        1.0 / count(*) over (partition by t.opportunity_id) as w_linear
    from touches as t

),

attributed as (

    select
        wt.channel,
        cast({{ dbt.date_trunc('month', 'w.won_at') }} as {{ type_date() }}) as month_start,
        sum(wt.w_first * w.amount_cny) as bookings_first_touch_cny,
        sum(wt.w_last * w.amount_cny) as bookings_last_touch_cny,
        -- each share fixed to 6 decimals before the sum: a sum of doubles adds in a different order from run
        -- to run, and a total on a half cent then rounds either way (two runs published 366788.07 and .08)
        sum(cast(wt.w_linear * w.amount_cny as decimal(38, 6))) as bookings_linear_cny,
        sum(wt.w_linear * w.is_new_customer) as new_customers_linear,
        sum(wt.w_first * w.is_new_customer) as new_customers_first_touch
    from weighted as wt
    inner join won as w
        on w.opportunity_id = wt.opportunity_id
    group by 1, 2

),

lead_counts as (

    select
        channel,
        cast({{ dbt.date_trunc('month', 'created_at') }} as {{ type_date() }}) as month_start,
        count(*) as leads
    from leads
    group by 1, 2

),

opportunity_counts as (

    select
        coalesce(lead_source, 'unknown') as channel,
        cast({{ dbt.date_trunc('month', 'created_date') }} as {{ type_date() }}) as month_start,
        count(*) as opportunities
    from deals
    group by 1, 2

),

won_counts as (

    select
        lead_source as channel,
        cast({{ dbt.date_trunc('month', 'won_at') }} as {{ type_date() }}) as month_start,
        count(*) as won_count,
        sum(amount_cny) as bookings_source_cny
    from won
    group by 1, 2

),

spend as (

    select
        coalesce(channel, 'unknown') as channel,
        month_start,
        sum(spend_cny) as spend_cny
    from {{ ref('int_channel_spend') }}
    where month_start <= {{ as_of_date() }}
    group by 1, 2

),

channels as (

    {%- for ch in contract_vocabulary('lead_source') %}
    select '{{ ch }}' as channel
    union
    {%- endfor %}
    select channel from attributed
    union
    select channel from lead_counts
    union
    select channel from opportunity_counts
    union
    select channel from spend

),

grid as (

    select
        c.channel,
        m.month_start
    from channels as c cross join months as m

)

select
    cast(g.channel as {{ dbt.type_string() }}) as channel,
    cast(g.month_start as {{ type_date() }}) as month,
    cast(coalesce(lc.leads, 0) as {{ dbt.type_bigint() }}) as leads,
    cast(coalesce(oc.opportunities, 0) as {{ dbt.type_bigint() }}) as opportunities,
    cast(coalesce(s.spend_cny, 0) as {{ type_money() }}) as spend_cny,
    cast({{ safe_divide('s.spend_cny', 'oc.opportunities') }} as {{ type_double() }})
        as cost_per_opportunity_cny,
    cast(coalesce(wc.won_count, 0) as {{ dbt.type_bigint() }}) as won_count,
    cast(coalesce(wc.bookings_source_cny, 0) as {{ type_money() }}) as bookings_source_cny,
    cast(coalesce(a.bookings_first_touch_cny, 0) as {{ type_money() }}) as bookings_first_touch_cny,
    cast(coalesce(a.bookings_last_touch_cny, 0) as {{ type_money() }}) as bookings_last_touch_cny,
    cast(coalesce(a.bookings_linear_cny, 0) as {{ type_money() }}) as bookings_linear_cny,
    cast(
        {{ safe_divide('coalesce(a.bookings_first_touch_cny, 0) - s.spend_cny', 's.spend_cny') }}
        as {{ type_double() }}
    ) as roi_first_touch,
    cast(
        {{ safe_divide('coalesce(a.bookings_last_touch_cny, 0) - s.spend_cny', 's.spend_cny') }}
        as {{ type_double() }}
    ) as roi_last_touch,
    cast(
        {{ safe_divide('coalesce(a.bookings_linear_cny, 0) - s.spend_cny', 's.spend_cny') }}
        as {{ type_double() }}
    ) as roi_linear,
    cast(coalesce(a.new_customers_linear, 0) as {{ type_double() }}) as new_customers_linear,
    cast({{ safe_divide('s.spend_cny', 'a.new_customers_linear') }} as {{ type_double() }}) as cac_cny
from grid as g
left join lead_counts as lc
    on lc.channel = g.channel and lc.month_start = g.month_start
left join opportunity_counts as oc
    on oc.channel = g.channel and oc.month_start = g.month_start
left join spend as s
    on s.channel = g.channel and s.month_start = g.month_start
left join won_counts as wc
    on wc.channel = g.channel and wc.month_start = g.month_start
left join attributed as a
    on a.channel = g.channel and a.month_start = g.month_start
