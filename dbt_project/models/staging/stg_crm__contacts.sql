-- One row per contact person at an account.

with src as (

    select * from {{ source('crm', 'contacts') }}

)

select
    cast(src.contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.name as {{ dbt.type_string() }}) as contact_name,
    cast(src.title as {{ dbt.type_string() }}) as title,
    cast(src.is_decision_maker as {{ dbt.type_boolean() }}) as is_decision_maker,
    cast(src.phone as {{ dbt.type_string() }}) as phone,
    cast(src.email as {{ dbt.type_string() }}) as email,
    cast(src.wechat_id as {{ dbt.type_string() }}) as wechat_id,
    cast(src.created_at as {{ type_date() }}) as created_at,
    {{ lineage_columns('src') }}
from src
