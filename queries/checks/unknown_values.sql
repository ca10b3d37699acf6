-- check: unknown_values
-- title: Source values the mapping did not recognise (kept raw, lower-cased)
with vals as (
    select 'releases' as t, 'release_type' as c, source, release_type as v, release_id as id from releases
    union all select 'releases', 'state', source, state, release_id from releases
    union all select 'releases', 'outcome', source, outcome, release_id from releases
    union all select 'changes', 'change_type', source, change_type, change_id from changes
    union all select 'changes', 'risk', source, risk, change_id from changes
    union all select 'changes', 'state', source, state, change_id from changes
    union all select 'changes', 'outcome', source, outcome, change_id from changes
    union all select 'changes', 'origin', source, origin, change_id from changes
    union all select 'incidents', 'state', source, state, incident_id from incidents
),
unknown as (
    select * from vals
    where v is not null
      and not exists (select 1 from vocabulary x where x.table_name = vals.t and x.column_name = vals.c and x.value = vals.v)
)
select 'unknown_values' as check_id, source,
       t || '.' || c || ' = ' || '''' || v || '''' as detail, count(*) as count,
       array_to_string(list_slice(list(id order by id), 1, 5), ', ') as examples
from unknown group by all order by source, detail
