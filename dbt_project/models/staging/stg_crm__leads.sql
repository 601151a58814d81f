-- One row per lead (an inbound or outbound sales lead).

with src as (

    select * from {{ source('crm', 'leads') }}

)

select
    cast(src.lead_id as {{ dbt.type_string() }}) as lead_id,
    cast(src.lead_source as {{ dbt.type_string() }}) as lead_source,
    cast(src.campaign_id as {{ dbt.type_string() }}) as campaign_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(src.company_name as {{ dbt.type_string() }}) as company_name,
    cast(src.created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(src.status as {{ dbt.type_string() }}) as lead_status,
    cast(src.converted_at as {{ dbt.type_timestamp() }}) as converted_at,
    {{ lineage_columns('src') }}
from src
