-- One row per opportunity (deal) in its state as of the export.

with src as (

    select * from {{ source('crm', 'opportunities') }}

)

select
    cast(src.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(src.account_id as {{ dbt.type_string() }}) as account_id,
    cast(src.lead_id as {{ dbt.type_string() }}) as lead_id,
    cast(src.owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(src.name as {{ dbt.type_string() }}) as opportunity_name,
    cast(src.lead_source as {{ dbt.type_string() }}) as lead_source,
    cast(src.product_line as {{ dbt.type_string() }}) as product_line,
    cast(src.amount as {{ type_money() }}) as amount,
    cast(src.currency as {{ dbt.type_string() }}) as currency,
    cast(src.stage as {{ dbt.type_string() }}) as stage,
    -- the rep's entered probability, 0-100 in the CRM, as a share in [0, 1]
    cast(src.probability as {{ type_double() }}) / 100 as rep_win_probability,
    cast(src.created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(src.created_at as {{ type_date() }}) as created_date,
    cast(src.expected_close_date as {{ type_date() }}) as expected_close_date,
    cast(src.closed_at as {{ dbt.type_timestamp() }}) as closed_at,
    cast(src.lost_reason as {{ dbt.type_string() }}) as lost_reason,
    {{ lineage_columns('src') }}
from src
