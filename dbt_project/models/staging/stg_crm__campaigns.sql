-- One row per marketing campaign.

with src as (

    select * from {{ source('crm', 'campaigns') }}

)

select
    cast(src.campaign_id as {{ dbt.type_string() }}) as campaign_id,
    cast(src.name as {{ dbt.type_string() }}) as campaign_name,
    cast(src.channel as {{ dbt.type_string() }}) as channel,
    cast(src.start_date as {{ type_date() }}) as start_date,
    cast(src.end_date as {{ type_date() }}) as end_date,
    cast(src.budget as {{ type_money() }}) as budget,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    {{ lineage_columns('src') }}
from src
