-- One row per payment received against an invoice (回款).
-- Amounts also in CNY (`<amount>_cny`) at the rate of the row's event date: payment_date.

with src as (

    select * from {{ source('crm', 'payments') }}

),

fx as (

    select * from {{ ref('int_fx_rates_daily') }}

)

select
    cast(src.payment_id as {{ dbt.type_string() }}) as payment_id,
    cast(src.invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.payment_date as {{ type_date() }}) as payment_date,
    cast(src.amount as {{ type_money() }}) as amount,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    cast(src.method as {{ dbt.type_string() }}) as payment_method,
    {{ to_cny('src.amount', 'src.currency', 'fx.rate_to_cny') }} as amount_cny,
    {{ lineage_columns('src') }}
from src
left join fx
    on fx.rate_date = src.payment_date
    and fx.currency = src.currency
