-- One row per change to an opportunity: stage moves, amount and close-date changes.

with src as (

    select * from {{ source('crm', 'opportunity_history') }}

)

select
    cast(src.history_id as {{ dbt.type_string() }}) as history_id,
    cast(src.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(src.changed_at as {{ dbt.type_timestamp() }}) as changed_at,
    cast(src.field as {{ dbt.type_string() }}) as field_name,
    cast(src.from_stage as {{ dbt.type_string() }}) as from_stage,
    cast(src.to_stage as {{ dbt.type_string() }}) as to_stage,
    cast(src.old_value as {{ dbt.type_string() }}) as old_value,
    cast(src.new_value as {{ dbt.type_string() }}) as new_value,
    cast(src.changed_by as {{ dbt.type_string() }}) as changed_by_user_id,
    -- old and new values read as their field's type (thousands separators dropped; NULL when unreadable)
    case when src.field = 'expected_close_date' then {{ try_cast('src.old_value', type_date()) }} end
        as old_date_value,
    case when src.field = 'expected_close_date' then {{ try_cast('src.new_value', type_date()) }} end
        as new_date_value,
    case
        when src.field = 'amount' then {{ try_cast(dbt.replace('src.old_value', "','", "''"), type_money()) }}
    end
        as old_amount_value,
    case
        when src.field = 'amount' then {{ try_cast(dbt.replace('src.new_value', "','", "''"), type_money()) }}
    end
        as new_amount_value,
    {{ lineage_columns('src') }}
from src
