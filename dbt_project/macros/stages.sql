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

{#- The default win probability of a stage, a share in [0, 1] (never 0-100): what the forecast weights an
    open deal with when no ML score is present. Won stages count fully, lost not at all. -#}
{% macro stage_default_probabilities() -%}
    {{ return({
        'initial_contact': 0.10,
        'needs_confirmed': 0.20,
        'proposal': 0.40,
        'negotiation': 0.60,
        'won': 1.0,
        'contract_signed': 1.0,
        'lost': 0.0
    }) }}
{%- endmacro %}

{% macro stage_default_probability(stage) -%}
    case {{ stage }}
    {%- for s, p in stage_default_probabilities().items() %}
        when '{{ s }}' then {{ p }}
    {%- endfor %}
    end
{%- endmacro %}
