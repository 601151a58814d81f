-- One row per touchpoint with a customer: WeChat, phone, email, social, visit, meeting, demo.

with src as (

    select * from {{ source('crm', 'activities') }}

)

select
    cast(src.activity_id as {{ dbt.type_string() }}) as activity_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(src.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(src.user_id as {{ dbt.type_string() }}) as user_id,
    cast(src.channel as {{ dbt.type_string() }}) as channel,
    cast(src.direction as {{ dbt.type_string() }}) as direction,
    cast(src.occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
    cast(src.duration_minutes as {{ dbt.type_bigint() }}) as duration_minutes,
    cast(src.subject as {{ dbt.type_string() }}) as subject,
    {{ lineage_columns('src') }}
from src
