-- One row per contract signed on or before the as-of date: contract value, invoiced and collected
-- amounts, billed and collected shares, and its receivables aging on the as-of date (unpaid invoice
-- amount by days past due: current, 1-30, 31-60, 61-90, over 90).

with invoice_status as (

    select * from {{ ref('int_invoice_status') }}

),

per_contract as (

    select
        contract_id,
        sum(amount_cny) as invoiced_cny,
        sum(collected_cny) as collected_cny,
        sum(paid_at_invoice_rate_cny) as collected_at_invoice_rate_cny,
        {%- for bucket in aging_buckets() %}
        sum(case when aging_bucket = '{{ bucket }}' then unpaid_cny else 0 end) as ar_{{ bucket }},
        {%- endfor %}
        sum(unpaid_cny) as receivables_cny,
        count(*) as invoice_count
    from invoice_status
    group by contract_id

)

select
    cast(c.contract_id as {{ dbt.type_string() }}) as contract_id,
    cast(c.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(c.account_id as {{ dbt.type_string() }}) as account_id,
    cast(c.signed_date as {{ type_date() }}) as signed_date,
    cast(c.contract_status as {{ dbt.type_string() }}) as contract_status,
    cast(c.contract_value_cny as {{ type_money() }}) as contract_value_cny,
    cast(coalesce(p.invoiced_cny, 0) as {{ type_money() }}) as invoiced_cny,
    cast(coalesce(p.collected_cny, 0) as {{ type_money() }}) as collected_cny,
    -- collected valued at each invoice's rate: what to compare with invoiced_cny (same rates on both sides)
    cast(coalesce(p.collected_at_invoice_rate_cny, 0) as {{ type_money() }}) as collected_at_invoice_rate_cny,
    cast({{ safe_divide('coalesce(p.invoiced_cny, 0)', 'c.contract_value_cny') }} as {{ type_double() }})
        as billed_pct,
    cast({{ safe_divide('coalesce(p.collected_cny, 0)', 'c.contract_value_cny') }} as {{ type_double() }})
        as collected_pct,
    cast(coalesce(p.receivables_cny, 0) as {{ type_money() }}) as receivables_cny,
    {%- for bucket in aging_buckets() %}
    cast(coalesce(p.ar_{{ bucket }}, 0) as {{ type_money() }}) as ar_{{ bucket }},
    {%- endfor %}
    cast(coalesce(p.invoice_count, 0) as {{ dbt.type_bigint() }}) as invoice_count
from {{ ref('int_contracts') }} as c
left join per_contract as p
    on p.contract_id = c.contract_id
where c.signed_date <= {{ as_of_date() }}
