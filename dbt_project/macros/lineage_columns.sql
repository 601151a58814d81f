{#- The lineage columns every staging model carries from raw.<entity> (set by the ingestion). -#}
{% macro lineage_columns(relation) -%}
    {{ relation }}._record_key as record_key,
    {{ relation }}._source_file as source_file,
    {{ relation }}._source_row as source_row,
    {{ relation }}._load_id as load_id,
    {{ relation }}._loaded_at as loaded_at
{%- endmacro %}
