{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook=[
        "create schema if not exists {{ snapshot_inputs_schema() }}",
        "drop table if exists {{ snapshot_inputs_relation('_next') }}",
        "create table {{ snapshot_inputs_relation('_next') }} as {{ snapshot_input_fingerprints() }}",
        "{% if is_incremental() %}delete from {{ this }} where snapshot_date > {{ as_of_date() }} or snapshot_date > (select {{ dbt.dateadd('day', -1 * var('pipeline_snapshot_lookback_days', 28), 'max(snapshot_date)') }} from {{ this }}) or opportunity_id in ({{ snapshot_changed_deals() }}){% endif %}",
    ],
    post_hook=[
        "drop table if exists {{ snapshot_inputs_relation() }}",
        "create table {{ snapshot_inputs_relation() }} as select * from {{ snapshot_inputs_relation('_next') }}",
        "drop table {{ snapshot_inputs_relation('_next') }}",
    ],
) }}
-- One row per snapshot date and opportunity open at the end of that day: every Sunday from the first
-- opportunity's week through the last Sunday on or before the as-of date, plus the as-of date itself.
-- Each row sees only what was known by the end of its snapshot date (stage, amount, expected close date,
-- pushes, touchpoints, documents), so it can train models without leakage.
-- Incremental: a run deletes the last `pipeline_snapshot_lookback_days` (default 28) days of snapshots,
-- anything after the as-of date and every snapshot of a deal whose inputs changed anywhere in its history
-- (macros/snapshot_inputs.sql: a fingerprint per deal), then appends every snapshot date after the latest
-- one kept, and every earlier snapshot date of those deals; a full refresh gives the same rows.

with opportunities as (

    select
        opportunity_id,
        account_id,
        owner_user_id,
        team_id,
        region,
        lead_source,
        industry,
        product_line,
        currency,
        created_date,
        cast(won_at as {{ type_date() }}) as won_date,
        cast(lost_at as {{ type_date() }}) as lost_date
    from {{ ref('fct_opportunities') }}

),

bounds as (

    select
        {{ week_ending_sunday('min(created_date)') }} as first_sunday,
        {{ as_of_date() }} as last_day
    from opportunities

),

days as (

    select spine.date_day as period_start
    from {{ ref('int_date_spine') }} as spine
    inner join bounds
        on spine.date_day between bounds.first_sunday and bounds.last_day

),

snapshot_dates as (

    select period_start as snapshot_date
    from days
    where ({{ is_sunday('period_start') }} or period_start = {{ as_of_date() }})
    {% if is_incremental() %}
      and period_start > (
          select coalesce(max(snapshot_date), cast('1900-01-01' as {{ type_date() }})) from {{ this }}
      )
    {% endif %}

),

{% if is_incremental() %}
-- the deals whose inputs changed since the last build: every snapshot date up to the latest one kept
changed_deals as (

    {{ snapshot_changed_deals() }}

),

history_dates as (

    select period_start as snapshot_date
    from days
    where
        {{ is_sunday('period_start') }}
        and period_start <= (select max(snapshot_date) from {{ this }})

),
{% endif %}

-- every deal open at the end of each snapshot date, in its state then (macro deal_state_as_of)
deal_states as (

    {{ deal_state_as_of('snapshot_dates', 'snapshot_date') }}
    {% if is_incremental() %}

    union all

    {{ deal_state_as_of('history_dates', 'snapshot_date', only='changed_deals') }}
    {% endif %}

),

open_rows as (

    select
        st.state_date as snapshot_date,
        st.stage,
        st.stage_entered_date,
        st.amount_cny,
        st.expected_close_date,
        o.*
    from deal_states as st
    inner join opportunities as o
        on o.opportunity_id = st.opportunity_id

),

stage_events as (

    select
        opportunity_id,
        cast(entered_at as {{ type_date() }}) as entered_date,
        is_regression
    from {{ ref('int_opportunity_stage_events') }}

),

-- dated events counted "to date": regressions, pushes, amount changes
counted_events as (

    select
        opportunity_id,
        entered_date as event_date,
        'regression' as event_kind
    from stage_events
    where is_regression

    union all

    select
        opportunity_id,
        cast(changed_at as {{ type_date() }}) as event_date,
        case when field_name = 'amount' then 'amount_change' else 'push' end as event_kind
    from {{ ref('stg_crm__opportunity_history') }}
    where
        changed_at is not null
        and {{ on_or_before_as_of('changed_at') }}
        and (
            field_name = 'amount'
            or (field_name = 'expected_close_date' and new_date_value > old_date_value)
        )

),

event_counts as (

    select
        r.snapshot_date,
        r.opportunity_id,
        sum(case when e.event_kind = 'regression' then 1 else 0 end) as regression_count,
        sum(case when e.event_kind = 'push' then 1 else 0 end) as push_count,
        sum(case when e.event_kind = 'amount_change' then 1 else 0 end) as amount_change_count
    from open_rows as r
    inner join counted_events as e
        on e.opportunity_id = r.opportunity_id
        and e.event_date <= r.snapshot_date
    group by r.snapshot_date, r.opportunity_id

),

touches as (

    select
        opportunity_id,
        occurred_date,
        channel,
        is_decision_maker_contact
    from {{ ref('fct_touchpoints') }}
    where
        touchpoint_type = 'activity'
        and opportunity_id is not null

),

touch_counts as (

    select
        r.snapshot_date,
        r.opportunity_id,
        {%- set d7 = dbt.dateadd('day', -7, 'r.snapshot_date') %}
        {%- set d30 = dbt.dateadd('day', -30, 'r.snapshot_date') %}
        sum(case when t.occurred_date > {{ d7 }} then 1 else 0 end) as touchpoints_7d,
        sum(case when t.occurred_date > {{ d30 }} then 1 else 0 end) as touchpoints_30d,
        {%- for ch in contract_vocabulary('channel') %}
        sum(case when t.occurred_date > {{ d30 }} and t.channel = '{{ ch }}' then 1 else 0 end)
            as tp30_{{ ch }},
        {%- endfor %}
        max(t.occurred_date) as last_touch_date
    from open_rows as r
    inner join touches as t
        on t.opportunity_id = r.opportunity_id
        and t.occurred_date <= r.snapshot_date
    group by r.snapshot_date, r.opportunity_id

),

-- the first day a deal had a decision-maker touch, a visit, a demo, a proposal or quotation
first_dates as (

    select
        opportunity_id,
        min(case when is_decision_maker_contact then occurred_date end) as first_decision_maker_date,
        min(case when channel = 'visit' then occurred_date end) as first_visit_date,
        min(case when channel = 'demo' then occurred_date end) as first_demo_date,
        cast(null as {{ type_date() }}) as first_proposal_date
    from touches
    group by opportunity_id

    union all

    select
        opportunity_id,
        cast(null as {{ type_date() }}) as first_decision_maker_date,
        cast(null as {{ type_date() }}) as first_visit_date,
        cast(null as {{ type_date() }}) as first_demo_date,
        min(cast(uploaded_at as {{ type_date() }})) as first_proposal_date
    from {{ ref('stg_crm__documents') }}
    where
        doc_type in ('proposal', 'quotation')
        and opportunity_id is not null
        and uploaded_at is not null
        and {{ on_or_before_as_of('uploaded_at') }}
    group by opportunity_id

),

firsts as (

    select
        opportunity_id,
        min(first_decision_maker_date) as first_decision_maker_date,
        min(first_visit_date) as first_visit_date,
        min(first_demo_date) as first_demo_date,
        min(first_proposal_date) as first_proposal_date
    from first_dates
    group by opportunity_id

)

select
    cast(r.snapshot_date as {{ type_date() }}) as snapshot_date,
    cast(r.opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
    cast(r.account_id as {{ dbt.type_string() }}) as account_id,
    cast(r.owner_user_id as {{ dbt.type_string() }}) as owner_user_id,
    cast(r.team_id as {{ dbt.type_string() }}) as team_id,
    cast(r.region as {{ dbt.type_string() }}) as region,
    cast(r.lead_source as {{ dbt.type_string() }}) as lead_source,
    cast(r.industry as {{ dbt.type_string() }}) as industry,
    cast(r.product_line as {{ dbt.type_string() }}) as product_line,
    cast(r.stage as {{ dbt.type_string() }}) as stage,
    cast({{ days_between('r.stage_entered_date', 'r.snapshot_date') }} as {{ dbt.type_int() }})
        as days_in_stage,
    cast({{ days_between('r.created_date', 'r.snapshot_date') }} as {{ dbt.type_int() }}) as deal_age_days,
    r.amount_cny,
    cast(coalesce(ec.amount_change_count, 0) as {{ dbt.type_int() }}) as amount_change_count,
    cast(r.expected_close_date as {{ type_date() }}) as expected_close_date,
    cast({{ days_between('r.snapshot_date', 'r.expected_close_date') }} as {{ dbt.type_int() }})
        as days_to_expected_close,
    cast(coalesce(ec.push_count, 0) as {{ dbt.type_int() }}) as push_count,
    cast(coalesce(ec.regression_count, 0) as {{ dbt.type_int() }}) as regression_count,
    cast(coalesce(tc.touchpoints_7d, 0) as {{ dbt.type_int() }}) as touchpoints_7d,
    cast(coalesce(tc.touchpoints_30d, 0) as {{ dbt.type_int() }}) as touchpoints_30d,
    {%- for ch in contract_vocabulary('channel') %}
    cast(coalesce(tc.tp30_{{ ch }}, 0) as {{ dbt.type_int() }}) as tp30_{{ ch }},
    {%- endfor %}
    cast({{ days_between('tc.last_touch_date', 'r.snapshot_date') }} as {{ dbt.type_int() }})
        as days_since_last_touch,
    case when f.first_decision_maker_date <= r.snapshot_date then true else false end
        as has_decision_maker_contact,
    case when f.first_visit_date <= r.snapshot_date then true else false end as has_visit,
    case when f.first_demo_date <= r.snapshot_date then true else false end as has_demo,
    case when f.first_proposal_date <= r.snapshot_date then true else false end as has_proposal_doc
from open_rows as r
left join event_counts as ec
    on ec.snapshot_date = r.snapshot_date
    and ec.opportunity_id = r.opportunity_id
left join touch_counts as tc
    on tc.snapshot_date = r.snapshot_date
    and tc.opportunity_id = r.opportunity_id
left join firsts as f
    on f.opportunity_id = r.opportunity_id
