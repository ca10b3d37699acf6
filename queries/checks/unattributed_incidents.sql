-- check: unattributed_incidents
-- title: Incidents attributed to no change and no release (default W = 7 days, CI window on)
with unattributed as (
    select i.source, i.incident_id, i.priority
    from incidents i
    where not exists (select 1 from incident_change_links l where l.source = i.source and l.incident_id = i.incident_id)
      and not exists (select 1 from incident_release_links l where l.source = i.source and l.incident_id = i.incident_id)
)
select 'unattributed_incidents' as check_id, source,
       'incidents of priority ' || coalesce(priority::varchar, 'unknown') || ' with no change or release attributed' as detail,
       count(*) as count,
       array_to_string(min(incident_id, 5), ', ') as examples
from unattributed group by all order by source, detail
