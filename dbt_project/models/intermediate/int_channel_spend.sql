-- One row per lead source channel and month: stg_crm__channel_spend with its amount also in CNY at the rate
-- of the month's first day (METRICS.md: amounts are CNY at the rate of the event's date). Conversion lives
-- here, not in staging, so staging reads only its source and the layers flow one way (staging ->
-- intermediate -> marts).

-- depends_on: {{ ref('stg_crm__channel_spend') }}
-- depends_on: {{ ref('int_fx_rates_daily') }}
{{ with_cny('stg_crm__channel_spend', 'spend', 'month_start', 'spend_cny') }}
