{#- The column holds only codes of the contract's vocabulary (macro contract_vocabulary, generated). -#}
{% test accepted_vocabulary(model, column_name, vocabulary) %}
select {{ column_name }} as value, count(*) as row_count
from {{ model }}
where {{ column_name }} is not null
  and {{ column_name }} not in {{ sql_list(contract_vocabulary(vocabulary)) }}
group by {{ column_name }}
{% endtest %}
