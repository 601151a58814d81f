-- One row per lead source channel and month: stg_crm__channel_spend with its amount also in CNY at the rate
-- of the month's first day (METRICS.md: amounts are CNY at the rate of the event's date). Conversion lives
-- here, not in staging, so staging reads only its source and the layers flow one way (staging ->
-- intermediate -> marts).

with s as (

    select * from {{ ref('stg_crm__channel_spend') }}

),

fx as (

    select * from {{ ref('int_fx_rates_daily') }}

)

select
    s.*,
    {{ to_cny('s.spend', 's.currency', 'fx.rate_to_cny') }} as spend_cny
from s
left join fx
    on fx.rate_date = s.month_start
    and fx.currency = s.currency
