-- Win rate is a share in [0, 1], NULL exactly when no deal closed in the month.
select month
from {{ ref('mart_bookings_monthly') }}
where
    (win_rate is null and won_count + lost_count > 0)
    or (win_rate is not null and won_count + lost_count = 0)
    or win_rate < 0
    or win_rate > 1
