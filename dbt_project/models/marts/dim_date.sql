-- One row per calendar day from the first day of the first opportunity's year through the end of the
-- as-of date's year: week (ending Sunday), month, quarter and year, and whether the day is on or before
-- the as-of date. The published slice of the date spine (int_date_spine).

with bounds as (

    select
        cast({{ dbt.date_trunc('year', 'min(created_date)') }} as {{ type_date() }}) as start_date,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, dbt.date_trunc('year', as_of_date()))) }}
            as {{ type_date() }}
        ) as end_date
    from {{ ref('stg_crm__opportunities') }}

)

select
    spine.date_day,
    spine.week_ending_sunday,
    spine.month_start,
    spine.month_end,
    spine.quarter_start,
    spine.year_start,
    spine.year_number,
    spine.quarter_number,
    spine.month_number,
    spine.is_sunday,
    spine.is_month_end,
    spine.is_on_or_before_as_of
from {{ ref('int_date_spine') }} as spine
inner join bounds
    on spine.date_day between bounds.start_date and bounds.end_date
