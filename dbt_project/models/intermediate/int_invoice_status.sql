-- One row per invoice issued on or before the as-of date: amount (CNY at the invoice date's rate), paid
-- by the as-of date (collected_cny: payments at their own date's rate; paid_at_invoice_rate_cny: the same
-- payments at the invoice date's rate, comparable with amount_cny), unpaid on the as-of date (the
-- unpaid share of the invoice at the invoice date's rate), days past due and aging bucket, and the day
-- it was paid in full (NULL while not).

with invoices as (

    select * from {{ ref('int_invoices') }}
    where
        invoice_date is not null
        and invoice_date <= {{ as_of_date() }}

),

payments as (

    select
        invoice_id,
        payment_date,
        amount,
        amount_cny,
        sum(amount) over (
            partition by invoice_id order by payment_date, payment_id
            rows between unbounded preceding and current row
        ) as paid_to_date
    from {{ ref('int_payments') }}
    where
        payment_date is not null
        and payment_date <= {{ as_of_date() }}

),

paid as (

    select
        p.invoice_id,
        sum(p.amount) as paid_amount,
        sum(p.amount_cny) as collected_cny,
        min(p.payment_date) as first_payment_date,
        min(case when p.paid_to_date >= i.amount then p.payment_date end) as paid_in_full_date
    from payments as p
    inner join invoices as i
        on i.invoice_id = p.invoice_id
    group by p.invoice_id

),

status as (

    select
        i.invoice_id,
        i.contract_id,
        i.account_id,
        i.invoice_date,
        i.due_date,
        i.currency,
        i.amount,
        i.amount_cny,
        coalesce(pd.paid_amount, 0) as paid_amount,
        coalesce(pd.collected_cny, 0) as collected_cny,
        pd.first_payment_date,
        pd.paid_in_full_date,
        case
            when i.amount is null or i.amount = 0 then cast(0 as {{ type_money() }})
            when coalesce(pd.paid_amount, 0) >= i.amount then cast(0 as {{ type_money() }})
            else
                cast(
                    round(
                        i.amount_cny * (i.amount - coalesce(pd.paid_amount, 0)) / i.amount, 2
                    ) as {{ type_money() }}
                )
        end as unpaid_cny,
        -- the payments valued at the invoice's own rate (its currency, converted like the invoice): set against
        -- amount_cny, a difference is money paid, never a rate move between invoice and payment dates
        case
            when i.amount is null or i.amount = 0 then coalesce(pd.collected_cny, 0)
            else cast(round(i.amount_cny * coalesce(pd.paid_amount, 0) / i.amount, 2) as {{ type_money() }})
        end as paid_at_invoice_rate_cny,
        {{ days_between('i.due_date', as_of_date()) }} as days_past_due
    from invoices as i
    left join paid as pd
        on pd.invoice_id = i.invoice_id

)

select
    status.*,
    cast(
        case
            when status.unpaid_cny = 0 then 'paid'
            -- current, 1_30, 31_60, 61_90, over_90 (var aging_bucket_days)
            else {{ aging_bucket('days_past_due') }}
        end
        as {{ dbt.type_string() }}
    ) as aging_bucket
from status
