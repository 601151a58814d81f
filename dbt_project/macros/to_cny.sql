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
