-- Monthly bookings and won/lost counts add up to the won and lost deals of fct_opportunities.
-- It reads two models; Dagster shows it as a check of the monthly mart it guards.
{{ config(meta={'dagster': {'ref': {'name': 'mart_bookings_monthly'}}}) }}
with monthly as (
    select
        sum(bookings_cny) as bookings_cny,
        sum(won_count) as won_count,
        sum(lost_count) as lost_count
    from {{ ref('mart_bookings_monthly') }}
),

deals as (
    select
        coalesce(sum(case when is_won then amount_cny end), 0) as bookings_cny,
        sum(case when is_won then 1 else 0 end) as won_count,
        sum(case when is_lost then 1 else 0 end) as lost_count
    from {{ ref('fct_opportunities') }}
)

select
    monthly.*,
    deals.bookings_cny as deal_bookings_cny
from monthly
cross join deals
where
    coalesce(monthly.bookings_cny, 0) <> deals.bookings_cny
    or coalesce(monthly.won_count, 0) <> coalesce(deals.won_count, 0)
    or coalesce(monthly.lost_count, 0) <> coalesce(deals.lost_count, 0)
