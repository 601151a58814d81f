-- One row per CRM user, with team, region and manager chain. Email is left out (PII).

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
    users.hire_date,
    managers.manager_id as manager_2_id,
    managers_2.manager_id as manager_3_id,
    -- the chain of managers upwards, nearest first (up to three levels)
    cast(
        case
            when users.manager_id is null then null
            when managers.manager_id is null then users.manager_id
            when
                managers_2.manager_id is null
                then {{ dbt.concat(['users.manager_id', "' > '", 'managers.manager_id']) }}
            else {{ dbt.concat([
                'users.manager_id', "' > '", 'managers.manager_id', "' > '", 'managers_2.manager_id'
            ]) }}
        end
        as {{ dbt.type_string() }}
    ) as manager_chain,
    cast(
        case
            when users.manager_id is null then 0
            when managers.manager_id is null then 1
            when managers_2.manager_id is null then 2
            else 3
        end
        as {{ dbt.type_int() }}
    ) as manager_depth
from users
left join users as managers
    on managers.user_id = users.manager_id
left join users as managers_2
    on managers_2.user_id = managers.manager_id
