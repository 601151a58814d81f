-- One row per month: receivables at the month's end (period_end), invoices issued in the 90 days up to
-- it, and DSO = receivables at period end ÷ invoiced in the trailing 90 days × 90 (the window is var
-- dso_window_days; the column keeps the name invoiced_90d_cny).

with months as (

    select * from {{ ref('int_months') }}

),

invoices as (

    select * from {{ ref('int_invoice_status') }}

),

payments as (

    select
        invoice_id,
        payment_date,
        amount
    from {{ ref('int_payments') }}
    where
        payment_date is not null
        and payment_date <= {{ as_of_date() }}

),

outstanding as (

    -- invoices issued by the period end and not yet paid in full on it
    select
        m.month_start,
        i.invoice_id,
        i.amount,
        i.amount_cny
    from months as m
    inner join invoices as i
        on i.invoice_date <= m.period_end
        and (i.paid_in_full_date is null or i.paid_in_full_date > m.period_end)

),

paid_by_period_end as (

    select
        o.month_start,
        o.invoice_id,
        sum(p.amount) as paid_amount
    from outstanding as o
    inner join payments as p
        on p.invoice_id = o.invoice_id
    inner join months as m
        on m.month_start = o.month_start
        and p.payment_date <= m.period_end
    group by o.month_start, o.invoice_id

),

receivables as (

    select
        o.month_start,
        sum(
            case
                when o.amount is null or o.amount = 0 then 0
                when coalesce(pp.paid_amount, 0) >= o.amount then 0
                else round(o.amount_cny * (o.amount - coalesce(pp.paid_amount, 0)) / o.amount, 2)
            end
        ) as receivables_cny
    from outstanding as o
    left join paid_by_period_end as pp
        on pp.month_start = o.month_start
        and pp.invoice_id = o.invoice_id
    group by o.month_start

),

invoiced_90d as (

    select
        m.month_start,
        sum(i.amount_cny) as invoiced_90d_cny
    from months as m
    inner join invoices as i
        on i.invoice_date <= m.period_end
        and i.invoice_date > {{ dbt.dateadd('day', -1 * var('dso_window_days'), 'm.period_end') }}
    group by m.month_start

)

select
    cast(m.month_start as {{ type_date() }}) as month,
    cast(m.period_end as {{ type_date() }}) as period_end,
    cast(coalesce(r.receivables_cny, 0) as {{ type_money() }}) as receivables_cny,
    cast(coalesce(i.invoiced_90d_cny, 0) as {{ type_money() }}) as invoiced_90d_cny,
    cast(
        {{ safe_divide('coalesce(r.receivables_cny, 0) * ' ~ var('dso_window_days'), 'i.invoiced_90d_cny') }}
        as {{ type_double() }}
    ) as dso
from months as m
left join receivables as r
    on r.month_start = m.month_start
left join invoiced_90d as i
    on i.month_start = m.month_start
