{#- The metric columns of mart_rep_performance and mart_sales_performance_rollup, from the additive parts
    of int_sales_performance (alias `p`): ratios are computed after summing, so roll-ups are sums. -#}
{% macro sales_performance_columns(p) -%}
    cast({{ p }}.month as {{ type_date() }}) as month,
    cast({{ p }}.period_end as {{ type_date() }}) as period_end,
    cast({{ p }}.bookings_cny as {{ type_money() }}) as bookings_cny,
    cast({{ p }}.quota_cny as {{ type_money() }}) as quota_cny,
    cast({{ safe_divide(p ~ '.bookings_cny', p ~ '.quota_cny') }} as {{ type_double() }}) as attainment,
    cast({{ p }}.won_count as {{ dbt.type_bigint() }}) as won_count,
    cast({{ p }}.lost_count as {{ dbt.type_bigint() }}) as lost_count,
    cast({{ safe_divide(p ~ '.won_count', p ~ '.won_count + ' ~ p ~ '.lost_count') }} as {{ type_double() }}) as win_rate,
    cast({{ p }}.lost_amount_cny as {{ type_money() }}) as lost_amount_cny,
    cast({{ safe_divide(p ~ '.bookings_cny', p ~ '.bookings_cny + ' ~ p ~ '.lost_amount_cny') }} as {{ type_double() }}) as win_rate_amount,
    cast({{ safe_divide(p ~ '.bookings_cny', p ~ '.won_count') }} as {{ type_double() }}) as avg_deal_size_cny,
    cast({{ p }}.cycle_days_sum as {{ dbt.type_bigint() }}) as cycle_days_sum,
    cast({{ p }}.cycle_days_mean as {{ type_double() }}) as cycle_days_mean,
    cast({{ p }}.cycle_days_median as {{ type_double() }}) as cycle_days_median,
    cast({{ p }}.touchpoints as {{ dbt.type_bigint() }}) as touchpoints,
    cast({{ p }}.open_pipeline_cny as {{ type_money() }}) as open_pipeline_cny,
    cast({{ p }}.open_count as {{ dbt.type_bigint() }}) as open_count
{%- endmacro %}
