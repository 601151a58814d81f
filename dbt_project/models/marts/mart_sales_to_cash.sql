-- One row per deal won on or before the as-of date: its way from creation to cash — created, won,
-- signed (contract), project start, first invoice, first payment — and the days between each step.
-- Lead-to-cash days = first payment date − created_at.

with won as (

    select * from {{ ref('fct_opportunities') }}
    where is_won

),

contracts as (

    select
        opportunity_id,
        min(contract_id) as contract_id,
        min(signed_date) as contract_signed_date
    from {{ ref('int_contracts') }}
    where signed_date <= {{ as_of_date() }}
    group by opportunity_id

),

projects as (

    select
        c.opportunity_id,
        min(p.actual_start_date) as project_start_date
    from {{ ref('stg_crm__projects') }} as p
    inner join {{ ref('int_contracts') }} as c
        on c.contract_id = p.contract_id
    where p.actual_start_date <= {{ as_of_date() }}
    group by c.opportunity_id

),

cash as (

    select
        c.opportunity_id,
        min(i.invoice_date) as first_invoice_date,
        min(i.first_payment_date) as first_payment_date
    from {{ ref('int_invoice_status') }} as i
    inner join {{ ref('int_contracts') }} as c
        on c.contract_id = i.contract_id
    group by c.opportunity_id

),

steps as (

    select
        w.opportunity_id,
        w.account_id,
        w.owner_user_id,
        w.team_id,
        w.region,
        w.amount_cny,
        w.created_date,
        cast(w.won_at as {{ type_date() }}) as won_date,
        -- signed: the contract's signing date, else the entry into contract_signed
        coalesce(c.contract_signed_date, cast(w.signed_at as {{ type_date() }})) as signed_date,
        c.contract_id,
        p.project_start_date,
        ch.first_invoice_date,
        ch.first_payment_date
    from won as w
    left join contracts as c
        on c.opportunity_id = w.opportunity_id
    left join projects as p
        on p.opportunity_id = w.opportunity_id
    left join cash as ch
        on ch.opportunity_id = w.opportunity_id

)

select
    cast(opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(team_id as {{ dbt.type_string() }}) as team_id,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(contract_id as {{ dbt.type_string() }}) as contract_id,
    cast(amount_cny as {{ type_money() }}) as amount_cny,
    cast(created_date as {{ type_date() }}) as created_date,
    cast(won_date as {{ type_date() }}) as won_date,
    cast(signed_date as {{ type_date() }}) as signed_date,
    cast(project_start_date as {{ type_date() }}) as project_start_date,
    cast(first_invoice_date as {{ type_date() }}) as first_invoice_date,
    cast(first_payment_date as {{ type_date() }}) as first_payment_date,
    cast({{ days_between('created_date', 'won_date') }} as {{ dbt.type_int() }}) as created_to_won_days,
    cast({{ days_between('won_date', 'signed_date') }} as {{ dbt.type_int() }}) as won_to_signed_days,
    cast({{ days_between('signed_date', 'project_start_date') }} as {{ dbt.type_int() }})
        as signed_to_project_start_days,
    cast({{ days_between('project_start_date', 'first_invoice_date') }} as {{ dbt.type_int() }})
        as project_start_to_first_invoice_days,
    cast({{ days_between('first_invoice_date', 'first_payment_date') }} as {{ dbt.type_int() }})
        as first_invoice_to_first_payment_days,
    cast({{ days_between('created_date', 'first_payment_date') }} as {{ dbt.type_int() }})
        as lead_to_cash_days
from steps
