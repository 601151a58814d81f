{#- Convert an amount in `currency` to CNY with `rate` (CNY per unit, from int_fx_rates_daily joined on the
    event's date and currency). CNY amounts pass unchanged, so they never depend on a rate; a missing
    rate for another currency gives NULL (never a silent 0). Rounded to 2 decimals. -#}
{% macro to_cny(amount, currency, rate) -%}
    case
        when {{ amount }} is null then null
        when {{ currency }} = 'CNY' then cast({{ amount }} as {{ type_money() }})
        else cast(round(cast({{ amount }} as {{ type_money() }}) * cast({{ rate }} as {{ type_rate() }}), 2)
                  as {{ type_money() }})
    end
{%- endmacro %}

{#- Every column of `model` plus `amount` in CNY as `cny_column`, at the rate of the row's `date_column`
    (int_fx_rates_daily, same currency): the body of the int_* conversion views, written once. -#}
{% macro with_cny(model, amount, date_column, cny_column) -%}
select
    s.*,
    {{ to_cny('s.' ~ amount, 's.currency', 'fx.rate_to_cny') }} as {{ cny_column }}
from {{ ref(model) }} as s
left join {{ ref('int_fx_rates_daily') }} as fx
    on fx.rate_date = s.{{ date_column }}
    and fx.currency = s.currency
{%- endmacro %}
