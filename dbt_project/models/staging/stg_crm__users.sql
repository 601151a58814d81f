-- One row per user of the CRM: sales reps, managers, finance, executives, stewards.

with src as (

    select * from {{ source('crm', 'users') }}

)

select
    cast(src.user_id as {{ dbt.type_string() }}) as user_id,
    cast(src.name as {{ dbt.type_string() }}) as user_name,
    cast(src.email as {{ dbt.type_string() }}) as email,
    cast(src.role as {{ dbt.type_string() }}) as role,
    cast(src.team_id as {{ dbt.type_string() }}) as team_id,
    cast(src.team_name as {{ dbt.type_string() }}) as team_name,
    cast(src.region as {{ dbt.type_string() }}) as region,
    cast(src.manager_id as {{ dbt.type_string() }}) as manager_id,
    cast(src.hire_date as {{ type_date() }}) as hire_date,
    cast(src.is_active as {{ dbt.type_boolean() }}) as is_active,
    {{ lineage_columns('src') }}
from src
