-- One row per contact person at an account. Phone, email and WeChat id are PII (meta pii: true):
-- the dashboards show them only to the owning rep and their manager.

select
    c.contact_id,
    c.account_id,
    c.contact_name,
    c.title,
    case when c.is_decision_maker then true else false end as is_decision_maker,
    c.phone,
    c.email,
    c.wechat_id,
    c.created_at,
    cast(a.owner_user_id as {{ dbt.type_string() }}) as account_owner_user_id
from {{ ref('stg_crm__contacts') }} as c
left join {{ ref('stg_crm__accounts') }} as a
    on a.account_id = c.account_id
