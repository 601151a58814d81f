-- One row per invoice issued against a contract.
-- Amounts also in CNY (`<amount>_cny`) at the rate of the row's event date: invoice_date.

with src as (

    select * from {{ source('crm', 'invoices') }}

),

fx as (

    select * from {{ ref('int_fx_rates_daily') }}

)

select
    cast(src.invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(src.contract_id as {{ dbt.type_string() }}) as contract_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.invoice_date as {{ type_date() }}) as invoice_date,
    cast(src.due_date as {{ type_date() }}) as due_date,
    cast(src.amount as {{ type_money() }}) as amount,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    {{ to_cny('src.amount', 'src.currency', 'fx.rate_to_cny') }} as amount_cny,
    {{ lineage_columns('src') }}
from src
left join fx
    on fx.rate_date = src.invoice_date
    and fx.currency = src.currency
