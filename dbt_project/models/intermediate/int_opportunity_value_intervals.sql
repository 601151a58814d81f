{{ config(materialized='table') }}
-- Materialised as a table (not a view): several marts read it, so it is computed once per build.
-- One row per opportunity, field (amount, expected_close_date) and span of days during which one value
-- held, up to the as-of date: valid from valid_from_date (NULL: since creation) until the day before
-- valid_to_date (NULL: still on the as-of date). A value changed several times on one day holds from
-- the day's last change. Joining a date D with valid_from_date <= D < valid_to_date gives the value as it
-- stood at the end of day D. Opportunities never changed up to the as-of date hold their as-of value.

with as_of_values as (

    select * from {{ ref('int_opportunity_field_changes') }}

),

changes as (

    select
        opportunity_id,
        field_name,
        history_id,
        changed_at,
        cast(changed_at as {{ type_date() }}) as changed_date,
        old_amount_value,
        new_amount_value,
        old_date_value,
        new_date_value,
        row_number() over (
            partition by opportunity_id, field_name
            order by changed_at, history_id
        ) as change_number
    from {{ ref('stg_crm__opportunity_history') }}
    where
        field_name in ('amount', 'expected_close_date')
        and changed_at is not null
        and {{ on_or_before_as_of('changed_at') }}

),

with_next as (

    select
        changes.*,
        lead(changes.changed_date) over (
            partition by changes.opportunity_id, changes.field_name
            order by changes.change_number
        ) as next_changed_date
    from changes

),

fields as (

    select 'amount' as field_name
    union all
    select 'expected_close_date' as field_name

),

intervals as (

    -- before the first change: the first change's old value
    select
        opportunity_id,
        field_name,
        0 as change_number,
        cast(null as {{ type_date() }}) as valid_from_date,
        changed_date as valid_to_date,
        old_amount_value as amount_value,
        old_date_value as date_value
    from with_next
    where change_number = 1

    union all

    -- from each change: its new value
    select
        opportunity_id,
        field_name,
        change_number,
        changed_date as valid_from_date,
        next_changed_date as valid_to_date,
        new_amount_value as amount_value,
        new_date_value as date_value
    from with_next

    union all

    -- never changed up to the as-of date: the as-of value throughout
    select
        v.opportunity_id,
        fields.field_name,
        0 as change_number,
        cast(null as {{ type_date() }}) as valid_from_date,
        cast(null as {{ type_date() }}) as valid_to_date,
        v.amount as amount_value,
        v.expected_close_date as date_value
    from as_of_values as v
    cross join fields
    where not exists (
        select 1 from changes as c
        where c.opportunity_id = v.opportunity_id and c.field_name = fields.field_name
    )

)

select
    intervals.opportunity_id,
    cast(intervals.field_name as {{ dbt.type_string() }}) as field_name,
    cast(intervals.change_number as {{ dbt.type_int() }}) as change_number,
    cast(intervals.valid_from_date as {{ type_date() }}) as valid_from_date,
    cast(intervals.valid_to_date as {{ type_date() }}) as valid_to_date,
    -- an unreadable old or new value falls back to the as-of value
    cast(
        case when intervals.field_name = 'amount' then coalesce(intervals.amount_value, v.amount) end
        as {{ type_money() }}
    ) as amount_value,
    cast(
        case
            when intervals.field_name = 'expected_close_date'
                then coalesce(intervals.date_value, v.expected_close_date)
        end
        as {{ type_date() }}
    ) as date_value
from intervals
inner join as_of_values as v
    on v.opportunity_id = intervals.opportunity_id
