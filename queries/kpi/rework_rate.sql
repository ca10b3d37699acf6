-- id: rework_rate
-- title: Rework rate
-- unit: ratio
-- better: lower
-- order: 16
-- test: proportions
-- rolling: ratio
-- dora: rework_rate
-- definition: Changes implemented in the period that are unplanned fixes
--   (change_type = 'emergency' or origin = 'incident') / changes implemented in the period.
-- excludes: cancelled changes; changes that cannot be told rework or not (no
--   change type, or no origin, and not known to be rework: extra.unknown, said in
--   the note). NULL when the source records no origin at all (its rework rate would
--   be its emergency rate), with that reason.
-- needs: changes.actual_end, changes.origin
-- partial: changes.change_type (changes without a type are left out unless they
--   came from an incident)
with implemented as (
    select kpi_group($by, service, team, change_type, risk, source) as grp, change_id, change_type, origin, source
    from changes
    where is_implemented(actual_end, state, outcome, $period_from, $period_to)
),
recording as (
    -- Sources that record a change's origin at all.
    select distinct source from changes where origin is not null
),
classified as (
    select *,
           case when change_type = 'emergency' or origin = 'incident' then true
                when change_type is not null and origin is not null then false
           end as rework
    from implemented
),
-- Counted per group and source first (see change_failure_rate).
per_source as (
    select grp, source,
           count(*) as n,
           count(*) filter (where rework) as rework,
           count(*) filter (where rework is null) as unknown,
           count(*) filter (where change_type = 'emergency') as emergency,
           count(*) filter (where origin = 'incident') as from_incident
    from classified
    group by grp, source
),
groups as (select * from kpi_groups('per_source', $by)),
agg as (
    select g.grp,
           coalesce(sum(c.n), 0)::bigint as n,
           coalesce(sum(c.rework), 0)::bigint as rework,
           coalesce(sum(c.unknown), 0)::bigint as unknown,
           coalesce(sum(c.emergency), 0)::bigint as emergency,
           coalesce(sum(c.from_incident), 0)::bigint as from_incident,
           coalesce(sum(c.n) filter (where c.source in (select source from recording)), 0)::bigint as from_recording,
           string_agg(distinct c.source, ', ') as sources
    from groups g
    left join per_source c on c.grp is not distinct from g.grp
    group by g.grp
),
final as (
    select grp as group_value,
           case when from_recording > 0 and n > unknown then rework / (n - unknown)::double end as value,
           rework as numerator,
           n - unknown as denominator,
           n as count,
           case when n = 0 then 'no changes implemented in the period'
                when from_recording = 0 then 'no origin data in source ' || sources
                when unknown > 0 then unknown || ' of ' || n || ' changes cannot be told rework or not and are left out' end as note,
           to_json({emergency: emergency, origin_incident: from_incident, unknown: unknown}) as extra
    from agg
)
select * from final order by group_value nulls first
