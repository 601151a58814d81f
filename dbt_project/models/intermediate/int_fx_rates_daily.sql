{{ config(materialized='table') }}
-- Materialised as a table (not a view): several marts read it, so it is computed once per build.
-- One row per day and currency: CNY per unit of the currency, filled forward from the last known
-- rate (a day without a published rate uses the latest earlier one). CNY is always 1.
-- Days run from the first known rate through the later of the last rate and the as-of date, so money
-- converts with a plain equi-join on (date, currency). Before the first known rate there is no rate.

with rates as (

    select
        rate_date,
        currency,
        rate_to_cny
    from {{ ref('stg_crm__fx_rates') }}
    where
        currency <> 'CNY'
        and rate_to_cny is not null
        and rate_date is not null

),

bounds as (

    select
        coalesce(min(rate_date), {{ as_of_date() }}) as start_date,
        case
            when max(rate_date) > {{ as_of_date() }} then max(rate_date)
            else {{ as_of_date() }}
        end as end_date
    from rates

),

days as (

    select spine.date_day as period_start
    from {{ ref('int_date_spine') }} as spine
    inner join bounds
        on spine.date_day between bounds.start_date and bounds.end_date

),

-- each published rate holds from its date until the next published date of the same currency
rate_validity as (

    select
        currency,
        rate_to_cny,
        rate_date as valid_from,
        lead(rate_date) over (partition by currency order by rate_date) as valid_until
    from rates

),

filled as (

    select
        days.period_start as rate_date,
        rate_validity.currency,
        rate_validity.rate_to_cny,
        rate_validity.valid_from as published_rate_date
    from days
    inner join rate_validity
        on days.period_start >= rate_validity.valid_from
        and (rate_validity.valid_until is null or days.period_start < rate_validity.valid_until)

),

cny as (

    select
        days.period_start as rate_date,
        'CNY' as currency,
        1 as rate_to_cny,
        days.period_start as published_rate_date
    from days

)

select
    cast(rate_date as {{ type_date() }}) as rate_date,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(rate_to_cny as {{ type_double() }}) as rate_to_cny,
    cast(published_rate_date as {{ type_date() }}) as published_rate_date
from filled

union all

select
    cast(rate_date as {{ type_date() }}) as rate_date,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(rate_to_cny as {{ type_double() }}) as rate_to_cny,
    cast(published_rate_date as {{ type_date() }}) as published_rate_date
from cny
