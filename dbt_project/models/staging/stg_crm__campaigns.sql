-- One row per marketing campaign.
-- Amounts also in CNY (`<amount>_cny`) at the rate of the row's event date: start_date.

with src as (

    select * from {{ source('crm', 'campaigns') }}

),

fx as (

    select * from {{ ref('int_fx_rates_daily') }}

)

select
    cast(src.campaign_id as {{ dbt.type_string() }}) as campaign_id,
    cast(src.name as {{ dbt.type_string() }}) as campaign_name,
    cast(src.channel as {{ dbt.type_string() }}) as channel,
    cast(src.start_date as {{ type_date() }}) as start_date,
    cast(src.end_date as {{ type_date() }}) as end_date,
    cast(src.budget as {{ type_money() }}) as budget,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    {{ to_cny('src.budget', 'src.currency', 'fx.rate_to_cny') }} as budget_cny,
    {{ lineage_columns('src') }}
from src
left join fx
    on fx.rate_date = src.start_date
    and fx.currency = src.currency
