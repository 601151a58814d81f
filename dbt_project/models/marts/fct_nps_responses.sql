-- One row per NPS response given on or before the as-of date with a valid score (0-10), with its
-- category (promoter 9-10, passive 7-8, detractor 0-6) and the account's owner (for row scope).

select
    cast(r.response_id as {{ dbt.type_string() }}) as response_id,
    cast(r.account_id as {{ dbt.type_string() }}) as account_id,
    cast(r.contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(a.owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(r.responded_date as {{ type_date() }}) as responded_date,
    cast(r.score as {{ dbt.type_bigint() }}) as score,
    cast(
        case when r.score >= 9 then 'promoter' when r.score >= 7 then 'passive' else 'detractor' end
        as {{ dbt.type_string() }}
    ) as nps_category,
    cast(r.comment as {{ dbt.type_string() }}) as comment
from {{ ref('stg_crm__nps_responses') }} as r
left join {{ ref('stg_crm__accounts') }} as a
    on a.account_id = r.account_id
where
    r.responded_date is not null
    and r.responded_date <= {{ as_of_date() }}
    and r.score between 0 and 10
