-- is_won holds exactly when won_at is set; a won deal has a cycle and its amount converted at won_at's date.
select opportunity_id
from {{ ref('fct_opportunities') }}
where
    (is_won and won_at is null)
    or (not is_won and won_at is not null)
    or (is_won and cycle_days is null)
    or (is_won and fx_rate_date <> cast(won_at as {{ type_date() }}))
    or (signed_at is not null and not is_won)
