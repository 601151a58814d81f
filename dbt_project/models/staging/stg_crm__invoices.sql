-- One row per invoice issued against a contract.

with src as (

    select * from {{ source('crm', 'invoices') }}

)

select
    cast(src.invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(src.contract_id as {{ dbt.type_string() }}) as contract_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.invoice_date as {{ type_date() }}) as invoice_date,
    cast(src.due_date as {{ type_date() }}) as due_date,
    cast(src.amount as {{ type_money() }}) as amount,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    {{ lineage_columns('src') }}
from src
