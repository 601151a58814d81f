-- Events after the as-of date are ignored: no date in the fact lies after it.
select opportunity_id
from {{ ref('fct_opportunities') }}
where
    not {{ on_or_before_as_of('created_at') }}
    or (won_at is not null and not {{ on_or_before_as_of('won_at') }})
    or (signed_at is not null and not {{ on_or_before_as_of('signed_at') }})
    or (lost_at is not null and not {{ on_or_before_as_of('lost_at') }})
    or (current_stage_entered_at is not null and not {{ on_or_before_as_of('current_stage_entered_at') }})
    or days_in_current_stage < 0
    or cycle_days < 0
