{#- fct_pipeline_snapshots keeps the snapshots older than its lookback from one run to the next. A snapshot
    of date D reads the deal's whole history up to D, so a change anywhere in that history (a touchpoint or
    document deleted or edited, a stage move or amount corrected, the deal's fx rate revised) must recompute
    every snapshot of that deal. These macros fingerprint each deal's inputs; the model recomputes the deals
    whose fingerprint changed since its last build, so an incremental run equals a full rebuild.
    The fingerprints live beside the model, in meta.<model>_inputs (the last build's) and
    meta.<model>_inputs_next (this build's, written by the pre-hook and swapped in by the post-hook). -#}

{% macro snapshot_inputs_relation(suffix='') -%}
    {{ api.Relation.create(database=this.database, schema='meta', identifier=this.identifier ~ '_inputs' ~ suffix) }}
{%- endmacro %}

{#- the schema of those tables, in the target database (PostgreSQL creates no schema qualified by a database) -#}
{% macro snapshot_inputs_schema() -%}
    {{ api.Relation.create(database=this.database, schema='meta').include(database=false, identifier=false) }}
{%- endmacro %}

{#- one row per deal: an order-independent hash of every input row (xor) and their count (row_hash);
    the lineage columns (load id, load time) are left out, so reloading an unchanged file changes nothing -#}
{% macro snapshot_input_fingerprints() -%}
    with parts as (

        select
            o.opportunity_id,
            {{ row_hash(['o.account_id', 'o.owner_user_id', 'o.team_id', 'o.region', 'o.lead_source', 'o.industry', 'o.product_line', 'o.currency', 'o.created_date', 'o.won_at', 'o.lost_at', 'fx.rate_to_cny']) }} as h
        from {{ ref('fct_opportunities') }} as o
        left join {{ ref('int_fx_rates_daily') }} as fx
            on fx.rate_date = o.created_date
            and fx.currency = o.currency

        union all

        select
            opportunity_id,
            {{ row_hash(['stage', 'entered_at', 'left_at', 'is_regression']) }} as h
        from {{ ref('int_opportunity_stage_events') }}

        union all

        select
            opportunity_id,
            {{ row_hash(['history_id', 'field_name', 'changed_at', 'from_stage', 'to_stage', 'old_value', 'new_value', 'old_amount_value', 'new_amount_value', 'old_date_value', 'new_date_value']) }} as h
        from {{ ref('stg_crm__opportunity_history') }}
        where opportunity_id is not null

        union all

        select
            opportunity_id,
            {{ row_hash(['touchpoint_type', 'touchpoint_id', 'channel', 'occurred_at', 'is_decision_maker_contact']) }} as h
        from {{ ref('fct_touchpoints') }}
        where opportunity_id is not null

        union all

        select
            opportunity_id,
            {{ row_hash(['document_id', 'doc_type', 'uploaded_at']) }} as h
        from {{ ref('stg_crm__documents') }}
        where opportunity_id is not null

    )

    select
        opportunity_id,
        bit_xor(h) as fingerprint,
        count(*) as input_rows
    from parts
    group by opportunity_id
{%- endmacro %}

{#- the deals to recompute in full: fingerprint new, gone or different (every deal when the last build's
    fingerprints are missing) -#}
{% macro snapshot_changed_deals() -%}
    {%- set last = adapter.get_relation(database=this.database, schema='meta', identifier=this.identifier ~ '_inputs') -%}
    {%- if last is none %}
    select opportunity_id from {{ snapshot_inputs_relation('_next') }}
    union
    select opportunity_id from {{ this }}
    {%- else %}
    select coalesce(n.opportunity_id, l.opportunity_id) as opportunity_id
    from {{ snapshot_inputs_relation('_next') }} as n
    full outer join {{ snapshot_inputs_relation() }} as l
        on l.opportunity_id = n.opportunity_id
    where
        n.opportunity_id is null
        or l.opportunity_id is null
        or n.fingerprint != l.fingerprint
        or n.input_rows != l.input_rows
    {%- endif %}
{%- endmacro %}
