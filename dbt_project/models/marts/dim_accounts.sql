-- One row per account, with its won deals as of the as-of date. A customer is an account with at
-- least one won deal.

with accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

won_deals as (

    select
        account_id,
        min(won_at) as first_won_at,
        count(*) as won_deal_count
    from {{ ref('fct_opportunities') }}
    where is_won
    group by account_id

)

select
    accounts.account_id,
    accounts.account_name,
    accounts.industry,
    accounts.region,
    accounts.city,
    accounts.size_band,
    accounts.owner_user_id,
    accounts.created_at,
    accounts.annual_revenue_cny,
    won_deals.first_won_at,
    cast(coalesce(won_deals.won_deal_count, 0) as {{ dbt.type_bigint() }}) as won_deal_count,
    case when won_deals.won_deal_count > 0 then true else false end as is_customer
from accounts
left join won_deals
    on won_deals.account_id = accounts.account_id
