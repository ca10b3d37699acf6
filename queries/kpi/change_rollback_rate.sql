-- id: change_rollback_rate
-- title: Change rollback rate
-- unit: ratio
-- better: lower
-- order: 13
-- test: proportions
-- drill: 5 Rolled-back changes
-- rolling: ratio
-- definition: Changes implemented in the period with outcome 'rolled_back' / changes
--   implemented in the period.
-- excludes: cancelled changes. NULL when the source records no change outcome at all, with
--   that reason; those without one count as not rolled back (extra.unknown_outcome).
-- needs: changes.actual_end, changes.outcome
-- partial: changes.state (cancelled changes cannot be told apart and are counted)
with implemented as (
    select kpi_group($by, service, team, change_type, risk, source) as grp, change_id, outcome, source
    from changes
    where is_implemented(actual_end, state, outcome, $period_from, $period_to)
),
recording as (
    -- Sources that record change outcomes at all (see release_success_rate).
    select distinct source from changes
    -- A recognised outcome: a source whose outcomes are all codes no profile
    -- knows (HPSM's numeric completion codes) records none that can be read.
    where outcome in (select value from vocabulary where table_name = 'changes' and column_name = 'outcome')
),
-- Counted per group and source first (see change_failure_rate).
per_source as (
    select grp, source,
           count(*) as n,
           count(*) filter (where outcome = 'rolled_back') as rolled_back,
           count(outcome) as known_outcome
    from implemented
    group by grp, source
),
groups as (select * from kpi_groups('per_source', $by)),
agg as (
    select g.grp,
           coalesce(sum(c.n), 0)::bigint as n,
           coalesce(sum(c.rolled_back), 0)::bigint as rolled_back,
           coalesce(sum(c.known_outcome), 0)::bigint as known_outcome,
           coalesce(sum(c.n) filter (where c.source in (select source from recording)), 0)::bigint as from_recording,
           string_agg(distinct c.source, ', ') as sources
    from groups g
    left join per_source c on c.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when n > 0 and from_recording > 0 then rolled_back / n::double end as value,
           rolled_back as numerator,
           n as denominator,
           n as count,
           case when n = 0 then 'no changes implemented in the period'
                when from_recording = 0 then 'no outcome data in source ' || sources end as note,
           to_json({unknown_outcome: n - known_outcome}) as extra
    from agg
)
select * from final order by group_value nulls first
