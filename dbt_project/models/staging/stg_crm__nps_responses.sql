-- One row per NPS survey response.

with src as (

    select * from {{ source('crm', 'nps_responses') }}

)

select
    cast(src.response_id as {{ dbt.type_string() }}) as response_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(src.responded_at as {{ type_date() }}) as responded_date,
    cast(src.score as {{ dbt.type_bigint() }}) as score,
    cast(src.comment as {{ dbt.type_string() }}) as comment,
    {{ lineage_columns('src') }}
from src
