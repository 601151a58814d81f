-- One row per contract: stg_crm__contracts with its amount also in CNY at the rate of the signing date
-- (METRICS.md: amounts are CNY at the rate of the event's date). Conversion lives here, not in staging, so
-- staging reads only its source and the layers flow one way (staging -> intermediate -> marts).

with s as (

    select * from {{ ref('stg_crm__contracts') }}

),

fx as (

    select * from {{ ref('int_fx_rates_daily') }}

)

select
    s.*,
    {{ to_cny('s.contract_value', 's.currency', 'fx.rate_to_cny') }} as contract_value_cny
from s
left join fx
    on fx.rate_date = s.signed_date
    and fx.currency = s.currency
