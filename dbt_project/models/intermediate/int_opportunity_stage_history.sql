-- One row per opportunity and stage it entered up to the as-of date: the first entry (the one the
-- metrics use: won_at = first entry into won), the last entry, how often it was entered, and the
-- stage's order (NULL for lost, which is terminal).

select
    opportunity_id,
    stage,
    min(stage_order) as stage_order,
    min(entered_at) as first_entered_at,
    max(entered_at) as last_entered_at,
    count(*) as entry_count
from {{ ref('int_opportunity_stage_events') }}
group by opportunity_id, stage
