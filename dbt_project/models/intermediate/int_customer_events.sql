-- One row per dated customer event up to the as-of date: each won deal (a purchase, with its bookings at
-- the won_at rate), each invoice, and each payment (a paid invoice), with the account it belongs to.

select
    account_id,
    cast('won_deal' as {{ dbt.type_string() }}) as event_type,
    opportunity_id as event_id,
    cast(won_at as {{ type_date() }}) as event_date,
    amount_cny
from {{ ref('fct_opportunities') }}
where
    is_won
    and account_id is not null

union all

select
    account_id,
    cast('invoice' as {{ dbt.type_string() }}) as event_type,
    invoice_id as event_id,
    invoice_date as event_date,
    amount_cny
from {{ ref('int_invoices') }}
where
    invoice_date is not null
    and account_id is not null
    and invoice_date <= {{ as_of_date() }}

union all

select
    account_id,
    cast('payment' as {{ dbt.type_string() }}) as event_type,
    payment_id as event_id,
    payment_date as event_date,
    amount_cny
from {{ ref('int_payments') }}
where
    payment_date is not null
    and account_id is not null
    and payment_date <= {{ as_of_date() }}
