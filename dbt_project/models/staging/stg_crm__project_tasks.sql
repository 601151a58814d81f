-- One row per task of a delivery project.

with src as (

    select * from {{ source('crm', 'project_tasks') }}

)

select
    cast(src.task_id as {{ dbt.type_string() }}) as task_id,
    cast(src.project_id as {{ dbt.type_string() }}) as project_id,
    cast(src.name as {{ dbt.type_string() }}) as task_name,
    cast(src.assignee_user_id as {{ dbt.type_string() }}) as assignee_user_id,
    cast(src.estimated_hours as {{ type_double() }}) as estimated_hours,
    cast(src.due_date as {{ type_date() }}) as due_date,
    cast(src.completed_at as {{ type_date() }}) as completed_date,
    cast(src.status as {{ dbt.type_string() }}) as task_status,
    {{ lineage_columns('src') }}
from src
