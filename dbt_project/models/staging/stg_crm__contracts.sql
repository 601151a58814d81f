-- One row per signed contract.

with src as (

    select * from {{ source('crm', 'contracts') }}

)

select
    cast(src.contract_id as {{ dbt.type_string() }}) as contract_id,
    cast(src.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.signed_date as {{ type_date() }}) as signed_date,
    cast(src.start_date as {{ type_date() }}) as start_date,
    cast(src.end_date as {{ type_date() }}) as end_date,
    cast(src.contract_value as {{ type_money() }}) as contract_value,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    cast(src.payment_terms_days as {{ dbt.type_bigint() }}) as payment_terms_days,
    cast(src.status as {{ dbt.type_string() }}) as contract_status,
    {{ lineage_columns('src') }}
from src
