-- One row per account (customer or prospect company).

with src as (

    select * from {{ source('crm', 'accounts') }}

)

select
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.account_name as {{ dbt.type_string() }}) as account_name,
    cast(src.industry as {{ dbt.type_string() }}) as industry,
    cast(src.region as {{ dbt.type_string() }}) as region,
    cast(src.city as {{ dbt.type_string() }}) as city,
    cast(src.size_band as {{ dbt.type_string() }}) as size_band,
    cast(src.owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(src.created_at as {{ type_date() }}) as created_at,
    cast(src.annual_revenue_cny as {{ type_money() }}) as annual_revenue_cny,
    {{ lineage_columns('src') }}
from src
