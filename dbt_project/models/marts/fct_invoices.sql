-- One row per invoice issued on or before the as-of date, with the deal it bills (for row scope: owner,
-- team, region) and its state on the as-of date: collected, unpaid, days past due, aging bucket, overdue.

select
    cast(i.invoice_id as {{ dbt.type_string() }}) as invoice_id,
    cast(i.contract_id as {{ dbt.type_string() }}) as contract_id,
    cast(c.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(i.account_id as {{ dbt.type_string() }}) as account_id,
    cast(o.owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(o.team_id as {{ dbt.type_string() }}) as team_id,
    cast(o.region as {{ dbt.type_string() }}) as region,
    cast(i.invoice_date as {{ type_date() }}) as invoice_date,
    cast(i.due_date as {{ type_date() }}) as due_date,
    cast(i.currency as {{ dbt.type_string() }}) as currency,
    cast(i.amount as {{ type_money() }}) as amount,
    cast(i.amount_cny as {{ type_money() }}) as amount_cny,
    cast(i.collected_cny as {{ type_money() }}) as collected_cny,
    cast(i.unpaid_cny as {{ type_money() }}) as unpaid_cny,
    cast(i.days_past_due as {{ dbt.type_bigint() }}) as days_past_due,
    cast(i.aging_bucket as {{ dbt.type_string() }}) as aging_bucket,
    cast(i.unpaid_cny > 0 and coalesce(i.days_past_due, 0) > 0 as boolean) as is_overdue,
    cast(i.first_payment_date as {{ type_date() }}) as first_payment_date,
    cast(i.paid_in_full_date as {{ type_date() }}) as paid_in_full_date
from {{ ref('int_invoice_status') }} as i
left join {{ ref('int_contracts') }} as c
    on c.contract_id = i.contract_id
left join {{ ref('fct_opportunities') }} as o
    on o.opportunity_id = c.opportunity_id
