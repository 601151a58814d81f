-- One row per lead source channel and month: marketing spend.
-- Amounts also in CNY (`<amount>_cny`) at the rate of the row's event date: the month.

with src as (

    select * from {{ source('crm', 'channel_spend') }}

),

fx as (

    select * from {{ ref('int_fx_rates_daily') }}

)

select
    cast(src.month as {{ type_date() }}) as month_start,
    cast(src.channel as {{ dbt.type_string() }}) as channel,
    cast(src.spend as {{ type_money() }}) as spend,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    {{ to_cny('src.spend', 'src.currency', 'fx.rate_to_cny') }} as spend_cny,
    {{ lineage_columns('src') }}
from src
left join fx
    on fx.rate_date = src.month
    and fx.currency = src.currency
