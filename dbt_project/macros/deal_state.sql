{#- The state of every deal open at the end of each date in `dates` (a CTE or relation with a date column
    `date_column`), one row per date and deal: the stage it was in, the day it entered that stage, its
    amount (own currency, and CNY at the created date's rate) and its expected close date as they stood that
    day. Open at the end of D (METRICS.md): created on or before D, neither won nor lost on or before D.
    The one definition of "a deal's state on date D", shared by fct_pipeline_snapshots (weekly snapshots)
    and mart_forecast (period starts and reference dates), so both see a deal the same way on the same day. -#}
{#- `only`: a CTE or relation with a column opportunity_id, to compute the state of those deals alone -#}
{% macro deal_state_as_of(dates, date_column, only=none) -%}
    select
        d.{{ date_column }} as state_date,
        o.opportunity_id,
        s.stage,
        s.entered_date as stage_entered_date,
        a.amount_value as amount,
        {{ to_cny('a.amount_value', 'o.currency', 'fx.rate_to_cny') }} as amount_cny,
        c.date_value as expected_close_date
    from {{ dates }} as d
    inner join (
        select
            opportunity_id,
            currency,
            created_date,
            cast(won_at as {{ type_date() }}) as won_date,
            cast(lost_at as {{ type_date() }}) as lost_date
        from {{ ref('fct_opportunities') }}
        {%- if only is not none %}
        where opportunity_id in (select opportunity_id from {{ only }})
        {%- endif %}
    ) as o
        on o.created_date <= d.{{ date_column }}
        and (o.won_date is null or o.won_date > d.{{ date_column }})
        and (o.lost_date is null or o.lost_date > d.{{ date_column }})
    left join (
        select
            opportunity_id,
            stage,
            cast(entered_at as {{ type_date() }}) as entered_date,
            cast(left_at as {{ type_date() }}) as left_date
        from {{ ref('int_opportunity_stage_events') }}
    ) as s
        on s.opportunity_id = o.opportunity_id
        and s.entered_date <= d.{{ date_column }}
        and (s.left_date is null or s.left_date > d.{{ date_column }})
    left join {{ ref('int_opportunity_value_intervals') }} as a
        on a.opportunity_id = o.opportunity_id
        and a.field_name = 'amount'
        and (a.valid_from_date is null or a.valid_from_date <= d.{{ date_column }})
        and (a.valid_to_date is null or a.valid_to_date > d.{{ date_column }})
    left join {{ ref('int_opportunity_value_intervals') }} as c
        on c.opportunity_id = o.opportunity_id
        and c.field_name = 'expected_close_date'
        and (c.valid_from_date is null or c.valid_from_date <= d.{{ date_column }})
        and (c.valid_to_date is null or c.valid_to_date > d.{{ date_column }})
    -- open deals convert at the created date's rate (as fct_opportunities does for open deals)
    left join {{ ref('int_fx_rates_daily') }} as fx
        on fx.rate_date = o.created_date
        and fx.currency = o.currency
{%- endmacro %}
