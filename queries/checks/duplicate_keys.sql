-- check: duplicate_keys
-- title: Records held more than once under one key
-- The import writes one row per (source, id) and never a second; since
-- migration 10 the tables have no primary-key index to refuse one, so a row
-- written twice by hand is found here. Every count and KPI would count it twice.
with findings as (
    select source, 'changes whose change_id is held more than once' as detail, change_id as id
    from changes group by source, change_id having count(*) > 1
    union all
    select source, 'incidents whose incident_id is held more than once', incident_id
    from incidents group by source, incident_id having count(*) > 1
    union all
    select source, 'releases whose release_id is held more than once', release_id
    from releases group by source, release_id having count(*) > 1
    union all
    select source, 'satisfaction responses whose response_id is held more than once', response_id
    from satisfaction group by source, response_id having count(*) > 1
)
select 'duplicate_keys' as check_id, source, detail, count(*) as count,
       array_to_string(min(id, 5), ', ') as examples
from findings group by all order by source, detail
