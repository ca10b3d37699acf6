-- check: negative_durations
-- title: Durations that run backwards (excluded from the duration KPIs)
with findings as (
    select source, 'releases with actual_end before requested_at' as detail, release_id as id
    from releases where actual_end < requested_at
    union all
    select source, 'releases with actual_end before actual_start', release_id
    from releases where actual_end < actual_start
    union all
    select source, 'changes with actual_end before opened_at', change_id
    from changes where actual_end < opened_at
    union all
    select source, 'changes with actual_end before actual_start', change_id
    from changes where actual_end < actual_start
    union all
    select source, 'incidents with resolved_at before opened_at', incident_id
    from incidents where resolved_at < opened_at
)
select 'negative_durations' as check_id, source, detail, count(*) as count,
       array_to_string(min(id, 5), ', ') as examples
from findings group by all order by source, detail
