-- One row per delivery project: progress (done tasks' estimated hours ÷ all tasks' estimated hours),
-- overdue tasks (open past their due date), schedule variance (actual or forecast end − planned end),
-- and which documents exist (contract, proposal, acceptance report) with their latest version, all as of
-- the as-of date.

with projects as (

    select * from {{ ref('stg_crm__projects') }}

),

tasks as (

    select
        project_id,
        count(*) as task_count,
        sum(case when is_done then 1 else 0 end) as done_task_count,
        sum(estimated_hours) as estimated_hours,
        sum(case when is_done then estimated_hours else 0 end) as done_hours,
        sum(case when not is_done and due_date < {{ as_of_date() }} then 1 else 0 end) as overdue_task_count,
        max(case when not is_done then due_date end) as last_open_due_date
    from (
        select
            project_id,
            estimated_hours,
            due_date,
            -- done as of the as-of date: completed on or before it
            case
                when task_status = 'done' and (completed_date is null or completed_date <= {{ as_of_date() }})
                    then true
                else false
            end as is_done
        from {{ ref('stg_crm__project_tasks') }}
    ) as t
    group by project_id

),

documents as (

    -- documents of the project, and of the deal its contract came from (two equi-joins: no OR join)
    select
        project_id,
        doc_type,
        max(version_number) as latest_version
    from (
        select
            p.project_id,
            d.doc_type,
            d.version_number,
            d.uploaded_at
        from projects as p
        inner join {{ ref('stg_crm__documents') }} as d
            on d.project_id = p.project_id

        union all

        select
            p.project_id,
            d.doc_type,
            d.version_number,
            d.uploaded_at
        from projects as p
        inner join {{ ref('int_contracts') }} as c
            on c.contract_id = p.contract_id
        inner join {{ ref('stg_crm__documents') }} as d
            on d.opportunity_id = c.opportunity_id
            and d.project_id is null
    ) as project_documents
    where
        uploaded_at is not null
        and {{ on_or_before_as_of('uploaded_at') }}
    group by project_id, doc_type

),

doc_flags as (

    select
        project_id,
        max(case when doc_type = 'contract' then latest_version end) as contract_doc_version,
        max(case when doc_type = 'proposal' then latest_version end) as proposal_doc_version,
        max(case when doc_type = 'acceptance_report' then latest_version end) as acceptance_report_version
    from documents
    group by project_id

),

measured as (

    select
        p.*,
        t.task_count,
        t.done_task_count,
        t.estimated_hours,
        t.done_hours,
        t.overdue_task_count,
        -- finished: the actual end, if on or before the as-of date
        case when p.actual_end_date <= {{ as_of_date() }} then p.actual_end_date end as finished_date,
        -- forecast end of an unfinished project: the planned end, or later when open tasks are due later
        -- or the planned end has passed (then the as-of date)
        case
            when p.actual_end_date <= {{ as_of_date() }} then p.actual_end_date
            else greatest(
                p.planned_end_date,
                coalesce(t.last_open_due_date, p.planned_end_date),
                {{ as_of_date() }}
            )
        end as actual_or_forecast_end_date
    from projects as p
    left join tasks as t
        on t.project_id = p.project_id

)

select
    cast(m.project_id as {{ dbt.type_string() }}) as project_id,
    cast(m.contract_id as {{ dbt.type_string() }}) as contract_id,
    cast(m.account_id as {{ dbt.type_string() }}) as account_id,
    cast(m.project_name as {{ dbt.type_string() }}) as project_name,
    cast(m.manager_user_id as {{ dbt.type_string() }}) as manager_user_id,
    cast(m.project_status as {{ dbt.type_string() }}) as project_status,
    cast(m.planned_start_date as {{ type_date() }}) as planned_start_date,
    cast(m.planned_end_date as {{ type_date() }}) as planned_end_date,
    cast(
        case when m.actual_start_date <= {{ as_of_date() }} then m.actual_start_date end as {{ type_date() }}
    )
        as actual_start_date,
    cast(m.finished_date as {{ type_date() }}) as actual_end_date,
    cast(m.actual_or_forecast_end_date as {{ type_date() }}) as actual_or_forecast_end_date,
    case when m.finished_date is not null then true else false end as is_finished,
    cast(coalesce(m.task_count, 0) as {{ dbt.type_bigint() }}) as task_count,
    cast(coalesce(m.done_task_count, 0) as {{ dbt.type_bigint() }}) as done_task_count,
    cast({{ safe_divide('m.done_hours', 'm.estimated_hours') }} as {{ type_double() }}) as progress,
    cast(coalesce(m.overdue_task_count, 0) as {{ dbt.type_bigint() }}) as overdue_task_count,
    cast(
        {{ days_between('m.planned_end_date', 'm.actual_or_forecast_end_date') }} as {{ dbt.type_int() }}
    ) as schedule_variance_days,
    case when d.contract_doc_version is not null then true else false end as has_contract_doc,
    cast(d.contract_doc_version as {{ dbt.type_int() }}) as contract_doc_version,
    case when d.proposal_doc_version is not null then true else false end as has_proposal_doc,
    cast(d.proposal_doc_version as {{ dbt.type_int() }}) as proposal_doc_version,
    case when d.acceptance_report_version is not null then true else false end as has_acceptance_report,
    cast(d.acceptance_report_version as {{ dbt.type_int() }}) as acceptance_report_version
from measured as m
left join doc_flags as d
    on d.project_id = m.project_id
