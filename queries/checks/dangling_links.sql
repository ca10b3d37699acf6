-- check: dangling_links
-- title: Links to records that are not in the warehouse
-- An incident with a dangling explicit link is never attributed by CI window.
with findings as (
    select i.source, 'incidents whose caused_by_change is not a known change' as detail, i.incident_id as id
    from incidents i
    where i.caused_by_change is not null
      and not exists (select 1 from changes c where c.source = i.source and c.change_id = i.caused_by_change)
    union all
    select i.source, 'incidents whose related_release is not a known release', i.incident_id
    from incidents i
    where i.related_release is not null
      and not exists (select 1 from releases r where r.source = i.source and r.release_id = i.related_release)
    union all
    select c.source, 'changes whose release_id is not a known release', c.change_id
    from changes c
    where c.release_id is not null
      and not exists (select 1 from releases r where r.source = c.source and r.release_id = c.release_id)
    union all
    select s.source, 'satisfaction responses whose release_id is not a known release', s.response_id
    from satisfaction s
    where s.release_id is not null
      and not exists (select 1 from releases r where r.source = s.source and r.release_id = s.release_id)
)
select 'dangling_links' as check_id, source, detail, count(*) as count,
       array_to_string(min(id, 5), ', ') as examples
from findings group by all order by source, detail
