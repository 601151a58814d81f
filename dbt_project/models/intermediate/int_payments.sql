-- One row per payment (回款): stg_crm__payments with its amount also in CNY at the rate of the payment date
-- (METRICS.md: amounts are CNY at the rate of the event's date). Conversion lives here, not in staging, so
-- staging reads only its source and the layers flow one way (staging -> intermediate -> marts).

-- depends_on: {{ ref('stg_crm__payments') }}
-- depends_on: {{ ref('int_fx_rates_daily') }}
{{ with_cny('stg_crm__payments', 'amount', 'payment_date', 'amount_cny') }}
