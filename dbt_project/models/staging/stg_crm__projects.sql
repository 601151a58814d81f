-- One row per delivery project of a contract.

with src as (

    select * from {{ source('crm', 'projects') }}

)

select
    cast(src.project_id as {{ dbt.type_string() }}) as project_id,
    cast(src.contract_id as {{ dbt.type_string() }}) as contract_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.name as {{ dbt.type_string() }}) as project_name,
    cast(src.manager_user_id as {{ dbt.type_string() }}) as manager_user_id,
    cast(src.planned_start as {{ type_date() }}) as planned_start_date,
    cast(src.planned_end as {{ type_date() }}) as planned_end_date,
    cast(src.actual_start as {{ type_date() }}) as actual_start_date,
    cast(src.actual_end as {{ type_date() }}) as actual_end_date,
    cast(src.status as {{ dbt.type_string() }}) as project_status,
    {{ lineage_columns('src') }}
from src
