{#- The stage order of METRICS.md: initial_contact < needs_confirmed < proposal < negotiation < won
    < contract_signed. `lost` is terminal and has no order (a move to lost is not a regression). -#}

{% macro ordered_stages() -%}
    {{ return(['initial_contact', 'needs_confirmed', 'proposal', 'negotiation', 'won', 'contract_signed']) }}
{%- endmacro %}

{#- stages at which a deal counts as won (stage reached rule: contract_signed implies won) -#}
{% macro won_stages() -%}
    {{ return(['won', 'contract_signed']) }}
{%- endmacro %}

{% macro stage_order(stage) -%}
    case {{ stage }}
    {%- for s in ordered_stages() %}
        when '{{ s }}' then {{ loop.index }}
    {%- endfor %}
    end
{%- endmacro %}

{% macro sql_list(values) -%}
    ({%- for v in values -%}'{{ v }}'{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}
