-- One row per opportunity: its amount and expected close date as they stood on the as-of date, and
-- its push count (changes of the expected close date to a later date, up to the as-of date).
-- A value changed after the as-of date is restored from that change's old value, so later edits
-- never leak into an as-of build; without later changes the exported value stands.

with changes as (

    select
        opportunity_id,
        history_id,
        changed_at,
        field_name,
        old_date_value,
        new_date_value,
        old_amount_value,
        new_amount_value
    from {{ ref('stg_crm__opportunity_history') }}
    where
        field_name in ('amount', 'expected_close_date')
        and changed_at is not null

),

first_changes_after_as_of as (

    select
        opportunity_id,
        field_name,
        old_date_value,
        old_amount_value,
        row_number() over (
            partition by opportunity_id, field_name
            order by changed_at, history_id
        ) as change_number
    from changes
    where not {{ on_or_before_as_of('changed_at') }}

),

pushes as (

    select
        opportunity_id,
        count(*) as push_count
    from changes
    where
        field_name = 'expected_close_date'
        and {{ on_or_before_as_of('changed_at') }}
        and new_date_value > old_date_value
    group by opportunity_id

)

select
    o.opportunity_id,
    case
        when amount_after.opportunity_id is not null and amount_after.old_amount_value is not null
            then amount_after.old_amount_value
        else o.amount
    end as amount,
    case
        when close_after.opportunity_id is not null and close_after.old_date_value is not null
            then close_after.old_date_value
        else o.expected_close_date
    end as expected_close_date,
    coalesce(pushes.push_count, 0) as push_count
from {{ ref('stg_crm__opportunities') }} as o
left join first_changes_after_as_of as amount_after
    on amount_after.opportunity_id = o.opportunity_id
    and amount_after.field_name = 'amount'
    and amount_after.change_number = 1
left join first_changes_after_as_of as close_after
    on close_after.opportunity_id = o.opportunity_id
    and close_after.field_name = 'expected_close_date'
    and close_after.change_number = 1
left join pushes
    on pushes.opportunity_id = o.opportunity_id
