{{ config(materialized='table') }}
-- Materialised as a table (not a view): several marts read it, so it is computed once per build.
-- One row per stage entry of an opportunity up to the as-of date, in order: the stage it was created
-- in (at created_at), then every stage move of opportunity_history (field = stage).
-- The stage it was created in is the first move's from_stage (initial_contact when that is empty),
-- entered at created_at (or at the first move, should that be recorded earlier).
-- An opportunity without any stage history is taken as created in its exported stage; when that stage
-- is closed (won, contract_signed, lost) it was created in initial_contact and entered the closed
-- stage at closed_at.
-- Moves after the as-of date are ignored, so is an opportunity created after it. A move into the stage
-- the deal is already in is no entry.

with opportunities as (

    select
        opportunity_id,
        stage,
        created_at,
        closed_at
    from {{ ref('stg_crm__opportunities') }}
    where
        opportunity_id is not null
        and created_at is not null

),

stage_moves as (

    select
        opportunity_id,
        history_id,
        changed_at,
        from_stage,
        to_stage
    from {{ ref('stg_crm__opportunity_history') }}
    where
        field_name = 'stage'
        and to_stage is not null
        and changed_at is not null

),

first_moves as (

    select
        opportunity_id,
        from_stage,
        changed_at,
        row_number() over (partition by opportunity_id order by changed_at, history_id) as move_number
    from stage_moves

),

entries as (

    -- the stage each opportunity was created in (never after its first recorded move)
    select
        o.opportunity_id,
        case when fm.changed_at < o.created_at then fm.changed_at else o.created_at end as entered_at,
        case
            when fm.opportunity_id is not null then coalesce(fm.from_stage, 'initial_contact')
            when o.stage is null or o.stage in ('won', 'contract_signed', 'lost') then 'initial_contact'
            else o.stage
        end as stage,
        'created' as entry_source,
        0 as source_rank,
        cast(null as {{ dbt.type_string() }}) as history_id
    from opportunities as o
    left join first_moves as fm
        on fm.opportunity_id = o.opportunity_id
        and fm.move_number = 1

    union all

    -- every recorded stage move
    select
        m.opportunity_id,
        m.changed_at as entered_at,
        m.to_stage as stage,
        'history' as entry_source,
        1 as source_rank,
        m.history_id
    from stage_moves as m
    inner join opportunities as o
        on o.opportunity_id = m.opportunity_id

    union all

    -- closed in the export but no stage history at all: the close is the entry into the closed stage
    select
        o.opportunity_id,
        coalesce(o.closed_at, o.created_at) as entered_at,
        o.stage,
        'export' as entry_source,
        1 as source_rank,
        cast(null as {{ dbt.type_string() }}) as history_id
    from opportunities as o
    where
        o.stage in ('won', 'contract_signed', 'lost')
        and not exists (
            select 1 from stage_moves as m
            where m.opportunity_id = o.opportunity_id
        )

),

as_of_entries as (

    select *
    from entries
    where {{ on_or_before_as_of('entered_at') }}

),

ordered as (

    select
        as_of_entries.*,
        lag(as_of_entries.stage) over (
            partition by as_of_entries.opportunity_id
            order by as_of_entries.entered_at, as_of_entries.source_rank, as_of_entries.history_id
        ) as stage_before
    from as_of_entries

),

-- a recorded move into the stage the deal is already in (e.g. the CRM's creation row
-- "-> initial_contact") is no stage entry
numbered as (

    select
        opportunity_id,
        stage,
        {{ stage_order('stage') }} as stage_order,
        entered_at,
        entry_source,
        history_id,
        row_number() over (
            partition by opportunity_id
            order by entered_at, source_rank, history_id
        ) as entry_number
    from ordered
    where stage_before is null or stage <> stage_before

),

with_neighbours as (

    select
        numbered.*,
        lag(numbered.stage)
            over (partition by numbered.opportunity_id order by numbered.entry_number)
            as previous_stage,
        lag(numbered.stage_order)
            over (partition by numbered.opportunity_id order by numbered.entry_number)
            as previous_stage_order,
        lead(numbered.entered_at)
            over (partition by numbered.opportunity_id order by numbered.entry_number)
            as left_at,
        count(*) over (partition by numbered.opportunity_id) as entry_count
    from numbered

)

select
    opportunity_id,
    cast(entry_number as {{ dbt.type_bigint() }}) as entry_number,
    stage,
    cast(stage_order as {{ dbt.type_int() }}) as stage_order,
    cast(entered_at as {{ dbt.type_timestamp() }}) as entered_at,
    -- when the deal moved on (NULL while it is still in this stage as of the as-of date)
    cast(left_at as {{ dbt.type_timestamp() }}) as left_at,
    previous_stage,
    -- a move to an earlier stage; moves into or out of lost are not regressions
    case
        when
            stage_order is not null and previous_stage_order is not null
            and stage_order < previous_stage_order then true
        else false
    end as is_regression,
    case when entry_number = entry_count then true else false end as is_current,
    entry_source,
    history_id
from with_neighbours
