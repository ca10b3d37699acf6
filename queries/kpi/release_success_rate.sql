-- id: release_success_rate
-- title: Release success rate
-- unit: ratio
-- better: higher
-- order: 1
-- test: proportions
-- breakdown: 2
-- drill: 1 Failed releases
-- records-of: releases
-- rolling: ratio
-- definition: Releases deployed in the period that did not fail / releases deployed in
--   the period. A release failed when its outcome is 'failed' or 'rolled_back', or at
--   least one major incident (priority <= major_priority) opened within the attribution
--   window after its actual_end is attributed to it.
-- excludes: cancelled releases. NULL when the source records no release outcome at
--   all (e.g. hpsm), with that reason; releases without one count as not failed
--   unless a major incident is attributed (extra.unknown_outcome).
-- needs: releases.actual_end, releases.outcome
-- partial: incidents.priority (no incident is major: counts failed outcomes only)
with facts as (
    select * from release_facts(window_days := $window_days, major_priority := $major_priority, ci_window := $ci_window)
),
deployed as (
    select kpi_group($by, service, team, release_type, null, source) as grp, *
    from facts
    where is_deployed(actual_end, state, outcome, $period_from, $period_to)
),
recording as (
    -- Sources that record release outcomes at all: a group of theirs whose
    -- releases happen to lack one is computed like any other (NULL only when
    -- the source records none, or the group has no release).
    select distinct source from releases
    -- A recognised outcome: a source whose outcomes are all codes no profile
    -- knows (HPSM's numeric completion codes) records none that can be read.
    where outcome in (select value from vocabulary where table_name = 'releases' and column_name = 'outcome')
),
groups as (select * from kpi_groups('deployed', $by)),
agg as (
    select g.grp,
           count(d.release_id) as n,
           count(d.release_id) filter (where d.failed) as failed,
           count(d.release_id) filter (where d.outcome in ('failed', 'rolled_back')) as failed_by_outcome,
           count(d.release_id) filter (where d.major_incidents > 0) as failed_by_incident,
           count(d.outcome) as known_outcome,
           count(d.release_id) filter (where d.source in (select source from recording)) as from_recording,
           string_agg(distinct d.source, ', ') as sources
    from groups g
    left join deployed d on d.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when n > 0 and from_recording > 0 then (n - failed) / n::double end as value,
           n - failed as numerator,
           n as denominator,
           n as count,
           case when n = 0 then 'no releases deployed in the period'
                when from_recording = 0 then 'no outcome data in source ' || sources end as note,
           to_json({
               failed: failed,
               failed_by_outcome: failed_by_outcome,
               failed_by_major_incident: failed_by_incident,
               unknown_outcome: n - known_outcome
           }) as extra
    from agg
)
select * from final order by group_value nulls first
