-- One row per currency and day: CNY per unit of the currency.

with src as (

    select * from {{ source('crm', 'fx_rates') }}

)

select
    cast(src.rate_date as {{ type_date() }}) as rate_date,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    cast(src.rate_to_cny as {{ type_double() }}) as rate_to_cny,
    src._record_key as record_key,
    src._source_file as source_file,
    src._source_row as source_row,
    src._load_id as load_id,
    src._loaded_at as loaded_at
from src
