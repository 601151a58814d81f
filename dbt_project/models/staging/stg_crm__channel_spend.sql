-- One row per lead source channel and month: marketing spend.

with src as (

    select * from {{ source('crm', 'channel_spend') }}

)

select
    cast(src.month as {{ type_date() }}) as month_start,
    cast(src.channel as {{ dbt.type_string() }}) as channel,
    cast(src.spend as {{ type_money() }}) as spend,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    {{ lineage_columns('src') }}
from src
