{#- Receivables aging buckets (METRICS.md: current, 1-30, 31-60, 61-90, over 90 days past due), built from
    var aging_bucket_days (the upper bounds after `current`), so the bounds are written once. -#}

{#- the bucket names in order: current, 1_30, 31_60, 61_90, over_90 (for [30, 60, 90]) -#}
{% macro aging_buckets() -%}
    {%- set bounds = var('aging_bucket_days') -%}
    {%- set names = ['current'] -%}
    {%- for upper in bounds -%}
        {%- do names.append(((bounds[loop.index0 - 1] + 1) if not loop.first else 1) ~ '_' ~ upper) -%}
    {%- endfor -%}
    {%- do names.append('over_' ~ bounds[-1]) -%}
    {{ return(names) }}
{%- endmacro %}

{#- the bucket of a days-past-due expression (NULL or not past due: current) -#}
{% macro aging_bucket(days_past_due) -%}
    {%- set bounds = var('aging_bucket_days') -%}
    {%- set names = aging_buckets() -%}
    case
        when {{ days_past_due }} is null or {{ days_past_due }} <= 0 then '{{ names[0] }}'
        {%- for upper in bounds %}
        when {{ days_past_due }} <= {{ upper }} then '{{ names[loop.index] }}'
        {%- endfor %}
        else '{{ names[-1] }}'
    end
{%- endmacro %}
