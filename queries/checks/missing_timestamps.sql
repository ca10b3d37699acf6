-- check: missing_timestamps
-- title: Records missing a timestamp a KPI needs
-- Each row: the records of one kind lacking one timestamp, with up to 5 example ids.
with findings as (
    select source, 'releases without actual_end but deployed/closed (not counted as deployed)' as detail, release_id as id
    from releases where actual_end is null and state in ('deployed', 'closed')
    union all
    select source, 'deployed releases without requested_at (no lead time)', release_id
    from releases where actual_end is not null and requested_at is null
    union all
    select source, 'closed changes without actual_end (not counted as implemented)', change_id
    from changes where actual_end is null and state = 'closed' and coalesce(outcome, '') <> 'cancelled'
    union all
    select source, 'implemented changes without opened_at (no lead time)', change_id
    from changes where actual_end is not null and opened_at is null
    union all
    select source, 'incidents without opened_at (cannot be attributed)', incident_id
    from incidents where opened_at is null
    union all
    select source, 'resolved or closed incidents without resolved_at (no recovery time)', incident_id
    from incidents where resolved_at is null and state in ('resolved', 'closed')
),
final as (
    select 'missing_timestamps' as check_id, source, detail, count(*) as count,
           array_to_string(min(id, 5), ', ') as examples
    from findings group by all
)
select * from final order by source, detail
