-- id: change_failure_rate
-- title: Change failure rate
-- unit: ratio
-- better: lower
-- order: 5
-- test: proportions
-- breakdown: 3
-- drill: 4 Failed changes
-- rolling: ratio
-- dora: change_failure_rate
-- definition: Changes implemented in the period that failed / changes implemented in
--   the period. A change failed when its outcome is 'unsuccessful' or 'rolled_back', or
--   at least one incident is caused by it (explicit caused_by link, or CI window).
-- excludes: cancelled changes; changes without actual_end. When the source records
--   no change outcome at all (hpsm), only incident-caused failures can count: the
--   value is kept, and the note and extra.basis ('incidents only') say so.
-- needs: changes.actual_end
-- partial: changes.outcome (counts incident-caused failures only); changes.state
--   (cancelled changes cannot be told apart and are counted); incidents.opened_at (no
--   incident is attributed: counts failed outcomes only)
with facts as (
    select * from change_facts(window_days := $window_days, ci_window := $ci_window)
),
implemented as (
    select kpi_group($by, service, team, change_type, risk, source) as grp, *
    from facts
    where is_implemented(actual_end, state, outcome, $period_from, $period_to)
),
recording as (
    -- Sources that record change outcomes at all.
    select distinct source from changes
    -- A recognised outcome: a source whose outcomes are all codes no profile
    -- knows (HPSM's numeric completion codes) records none that can be read.
    where outcome in (select value from vocabulary where table_name = 'changes' and column_name = 'outcome')
),
-- Counted per group and source first: the later steps then handle a few rows
-- instead of every change (a KPI over millions of changes).
per_source as (
    select grp, source,
           count(*) as n,
           count(*) filter (where failed) as failed,
           count(*) filter (where outcome in ('unsuccessful', 'rolled_back')) as by_outcome,
           count(*) filter (where incidents_caused > 0) as by_incident,
           count(*) filter (where outcome is null) as unknown_outcome
    from implemented
    group by grp, source
),
groups as (select * from kpi_groups('per_source', $by)),
agg as (
    select g.grp,
           coalesce(sum(c.n), 0)::bigint as n,
           coalesce(sum(c.failed), 0)::bigint as failed,
           coalesce(sum(c.by_outcome), 0)::bigint as by_outcome,
           coalesce(sum(c.by_incident), 0)::bigint as by_incident,
           coalesce(sum(c.unknown_outcome), 0)::bigint as unknown_outcome,
           coalesce(sum(c.n) filter (where c.source in (select source from recording)), 0)::bigint as from_recording,
           string_agg(distinct c.source, ', ') as sources
    from groups g
    left join per_source c on c.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when n > 0 then failed / n::double end as value,
           failed as numerator,
           n as denominator,
           n as count,
           case when n = 0 then 'no changes implemented in the period'
                when from_recording = 0 then 'no outcome data in source ' || sources || ': counts incident-caused failures only' end as note,
           to_json({
               failed_by_outcome: by_outcome,
               failed_by_incident: by_incident,
               unknown_outcome: unknown_outcome,
               basis: case when n > 0 and from_recording = 0 then 'incidents only' else 'outcomes and incidents' end
           }) as extra
    from agg
)
select * from final order by group_value nulls first
