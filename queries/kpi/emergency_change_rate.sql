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
groups as (select * from kpi_groups('implemented', $by)),
agg as (
    select g.grp,
           count(c.change_id) as n,
           count(c.change_id) filter (where c.change_type = 'emergency') as emergency,
           count(c.change_id) filter (where c.change_type is null) as unknown_type,
           count(c.change_id) filter (where c.source in (select source from recording)) as from_recording,
           string_agg(distinct c.source, ', ') as sources
    from groups g
    left join implemented c on c.grp is not distinct from g.grp
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
