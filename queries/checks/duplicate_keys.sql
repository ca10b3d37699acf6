-- check: duplicate_keys
-- title: Records held more than once under one key
-- The import writes one row per (source, id) and never a second; since
-- migration 10 the tables have no primary-key index to refuse one, so a row
-- written twice by hand is found here. Every count and KPI would count it twice.
-- Keys are grouped by their 64-bit hash first (at 10M changes 0.8 s against
-- 1.4 s for grouping the strings), then the few keys whose hash repeats are
-- grouped as text, so a hash collision is never reported as a duplicate.
with repeated_hashes as (
    select 'changes' as t, hash(source, change_id) as h from changes group by h having count(*) > 1
    union all
    select 'incidents', hash(source, incident_id) as h from incidents group by h having count(*) > 1
    union all
    select 'releases', hash(source, release_id) as h from releases group by h having count(*) > 1
    union all
    select 'satisfaction', hash(source, response_id) as h from satisfaction group by h having count(*) > 1
),
findings as (
    select source, 'changes whose change_id is held more than once' as detail, change_id as id
    from changes
    where hash(source, change_id) in (select h from repeated_hashes where t = 'changes')
    group by source, change_id having count(*) > 1
    union all
    select source, 'incidents whose incident_id is held more than once', incident_id
    from incidents
    where hash(source, incident_id) in (select h from repeated_hashes where t = 'incidents')
    group by source, incident_id having count(*) > 1
    union all
    select source, 'releases whose release_id is held more than once', release_id
    from releases
    where hash(source, release_id) in (select h from repeated_hashes where t = 'releases')
    group by source, release_id having count(*) > 1
    union all
    select source, 'satisfaction responses whose response_id is held more than once', response_id
    from satisfaction
    where hash(source, response_id) in (select h from repeated_hashes where t = 'satisfaction')
    group by source, response_id having count(*) > 1
)
select 'duplicate_keys' as check_id, source, detail, count(*) as count,
       array_to_string(min(id, 5), ', ') as examples
from findings group by all order by source, detail
