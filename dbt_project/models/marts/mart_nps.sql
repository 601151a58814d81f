-- One row per period (month, quarter, year) and segment (all, industry, region, size_band) with NPS
-- responses on or before the as-of date: responses, promoters (9-10), passives (7-8), detractors (0-6)
-- and NPS = % promoters − % detractors, in points from -100 to 100.

{%- set segments = [
    ('all', "'all'"), ('industry', 'a.industry'), ('region', 'a.region'), ('size_band', 'a.size_band')
] %}
{%- set periods = ['month', 'quarter', 'year'] %}

with responses as (

    select
        r.response_id,
        r.responded_date,
        r.score,
        a.industry,
        a.region,
        a.size_band
    from {{ ref('fct_nps_responses') }} as r  -- valid responses up to the as-of date
    left join {{ ref('stg_crm__accounts') }} as a
        on a.account_id = r.account_id

),

segmented as (

    {%- for period in periods %}
    {%- for segment, expr in segments %}
    select
        '{{ period }}' as period_type,
        cast({{ dbt.date_trunc(period, 'responded_date') }} as {{ type_date() }}) as period_start,
        '{{ segment }}' as segment_type,
        coalesce({{ expr | replace('a.', '') }}, 'unknown') as segment,
        score
    from responses
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

counted as (

    select
        period_type,
        period_start,
        segment_type,
        segment,
        count(*) as responses,
        sum(case when score >= 9 then 1 else 0 end) as promoters,
        sum(case when score between 7 and 8 then 1 else 0 end) as passives,
        sum(case when score <= 6 then 1 else 0 end) as detractors,
        avg(cast(score as {{ type_double() }})) as mean_score
    from segmented
    group by period_type, period_start, segment_type, segment

)

select
    cast(period_type as {{ dbt.type_string() }}) as period_type,
    cast(period_start as {{ type_date() }}) as period_start,
    cast(segment_type as {{ dbt.type_string() }}) as segment_type,
    cast(segment as {{ dbt.type_string() }}) as segment,
    cast(responses as {{ dbt.type_bigint() }}) as responses,
    cast(promoters as {{ dbt.type_bigint() }}) as promoters,
    cast(passives as {{ dbt.type_bigint() }}) as passives,
    cast(detractors as {{ dbt.type_bigint() }}) as detractors,
    cast(100.0 * (promoters - detractors) / responses as {{ type_double() }}) as nps,
    cast(mean_score as {{ type_double() }}) as mean_score
from counted
