-- One row per payment received against an invoice (回款).

with src as (

    select * from {{ source('crm', 'payments') }}

)

select
    cast(src.payment_id as {{ dbt.type_string() }}) as payment_id,
    cast(src.invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.payment_date as {{ type_date() }}) as payment_date,
    cast(src.amount as {{ type_money() }}) as amount,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    cast(src.method as {{ dbt.type_string() }}) as payment_method,
    {{ lineage_columns('src') }}
from src
