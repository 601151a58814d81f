-- One row per CRM user, with team, region and manager. Email is left out (PII).

with users as (

    select * from {{ ref('stg_crm__users') }}

)

select
    users.user_id,
    users.user_name as name,
    users.role,
    users.team_id,
    users.team_name,
    users.region,
    users.manager_id,
    managers.user_name as manager_name,
    users.is_active,
    users.hire_date
from users
left join users as managers
    on managers.user_id = users.manager_id
