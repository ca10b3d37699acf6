-- id: emergency_change_rate
-- title: Emergency change rate
-- unit: ratio
-- better: lower
-- order: 15
-- test: proportions
-- rolling: ratio
-- definition: Changes implemented in the period with change_type = 'emergency' /
--   changes implemented in the period.
-- excludes: cancelled changes; changes without a change type (extra.unknown_type,
--   said in the note: unknown is not "not emergency"). NULL when the source records
--   no change type at all, with that reason.
-- needs: changes.actual_end, changes.change_type
with implemented as (
    select kpi_group($by, service, team, change_type, risk, source) as grp, change_id, change_type, source
    from changes
    where is_implemented(actual_end, state, outcome, $period_from, $period_to)
),
recording as (
    -- Sources that record a change type at all.
    select distinct source from changes where change_type is not null
),
-- Counted per group and source first (see change_failure_rate).
per_source as (
    select grp, source,
           count(*) as n,
           count(*) filter (where change_type = 'emergency') as emergency,
           count(*) filter (where change_type is null) as unknown_type
    from implemented
    group by grp, source
),
groups as (select * from kpi_groups('per_source', $by)),
agg as (
    select g.grp,
           coalesce(sum(c.n), 0)::bigint as n,
           coalesce(sum(c.emergency), 0)::bigint as emergency,
           coalesce(sum(c.unknown_type), 0)::bigint as unknown_type,
           coalesce(sum(c.n) filter (where c.source in (select source from recording)), 0)::bigint as from_recording,
           string_agg(distinct c.source, ', ') as sources
    from groups g
    left join per_source c on c.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when from_recording > 0 and n > unknown_type then emergency / (n - unknown_type)::double end as value,
           emergency as numerator,
           n - unknown_type as denominator,
           n as count,
           case when n = 0 then 'no changes implemented in the period'
                when from_recording = 0 then 'no change type data in source ' || sources
                when unknown_type > 0 then unknown_type || ' of ' || n || ' changes have no change type and are left out' end as note,
           to_json({unknown_type: unknown_type}) as extra
    from agg
)
select * from final order by group_value nulls first
