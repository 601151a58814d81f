-- One row per currency and day: CNY per unit of the currency.

with src as (

    select * from {{ source('crm', 'fx_rates') }}

)

select
    cast(src.rate_date as {{ type_date() }}) as rate_date,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    cast(src.rate_to_cny as {{ type_double() }}) as rate_to_cny,
    {{ lineage_columns('src') }}
from src
