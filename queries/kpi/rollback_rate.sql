-- id: rollback_rate
-- title: Release rollback rate
-- unit: ratio
-- better: lower
-- order: 7
-- test: proportions
-- breakdown: 4
-- drill: 2 Rolled-back releases
-- records-of: releases
-- rolling: ratio
-- definition: Releases deployed in the period with outcome 'rolled_back' / releases
--   deployed in the period.
-- excludes: cancelled releases. NULL when the source records no release outcome at all, with
--   that reason; those without one count as not rolled back (extra.unknown_outcome).
-- needs: releases.actual_end, releases.outcome
with deployed as (
    select kpi_group($by, service, team, release_type, null, source) as grp, release_id, outcome, source
    from releases
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
           count(d.release_id) filter (where d.outcome = 'rolled_back') as rolled_back,
           count(d.outcome) as known_outcome,
           count(d.release_id) filter (where d.source in (select source from recording)) as from_recording,
           string_agg(distinct d.source, ', ') as sources
    from groups g
    left join deployed d on d.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when n > 0 and from_recording > 0 then rolled_back / n::double end as value,
           rolled_back as numerator,
           n as denominator,
           n as count,
           case when n = 0 then 'no releases deployed in the period'
                when from_recording = 0 then 'no outcome data in source ' || sources end as note,
           to_json({unknown_outcome: n - known_outcome}) as extra
    from agg
)
select * from final order by group_value nulls first
