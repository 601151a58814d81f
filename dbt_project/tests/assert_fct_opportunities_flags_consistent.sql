-- is_closed = won or lost; open = not closed; a deal is never both won and lost.
select opportunity_id
from {{ ref('fct_opportunities') }}
where
    is_closed <> (is_won or is_lost)
    or is_open = is_closed
    or (is_won and is_lost)
    or (is_lost and (lost_at is null or current_stage <> 'lost'))
