-- One row per document version uploaded to an opportunity or project.

with src as (

    select * from {{ source('crm', 'documents') }}

)

select
    cast(src.document_id as {{ dbt.type_string() }}) as document_id,
    cast(src.project_id as {{ dbt.type_string() }}) as project_id,
    cast(src.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(src.doc_type as {{ dbt.type_string() }}) as doc_type,
    cast(src.version as {{ dbt.type_bigint() }}) as version_number,
    cast(src.file_name as {{ dbt.type_string() }}) as file_name,
    cast(src.uploaded_at as {{ dbt.type_timestamp() }}) as uploaded_at,
    cast(src.uploaded_by as {{ dbt.type_string() }}) as uploaded_by_user_id,
    {{ lineage_columns('src') }}
from src
