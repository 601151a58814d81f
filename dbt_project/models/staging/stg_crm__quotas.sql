-- One row per sales rep and month: the bookings target in CNY.

with src as (

    select * from {{ source('crm', 'quotas') }}

)

select
    cast(src.user_id as {{ dbt.type_string() }}) as user_id,
    cast(src.month as {{ type_date() }}) as month_start,
    cast(src.quota_cny as {{ type_money() }}) as quota_cny,
    {{ lineage_columns('src') }}
from src
