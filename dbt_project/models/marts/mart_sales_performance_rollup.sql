-- One row per level (team, region, company), group and month: the sales performance of
-- mart_rep_performance rolled up by summing bookings, quotas, counts and amounts first and dividing
-- after (never an average of the reps' ratios). A deal counts for its owner's team and region.

select
    cast(p.level as {{ dbt.type_string() }}) as level,
    cast(p.group_id as {{ dbt.type_string() }}) as group_id,
    {{ sales_performance_columns('p') }}
from {{ ref('int_sales_performance') }} as p
where p.level in ('team', 'region', 'company')
