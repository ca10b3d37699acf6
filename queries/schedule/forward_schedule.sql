-- schedule: the forward schedule of change
-- Releases and changes whose planned window overlaps [$period_from, $period_to), not cancelled,
-- one row each, with three flags:
--   collision: another planned item on the same service or CI (a change's CIs are
--     its change_cis rows, else its service) with an overlapping window. Windows
--     are half-open [planned_start, planned_end): merely adjacent windows do not
--     collide. A change does not collide with the release it belongs to, nor with
--     the other changes of that release (the release coordinates them). An item
--     without planned_end occupies the hour from its planned_start.
--   freeze: the window overlaps a configured freeze window ($freeze_windows, JSON).
--   unapproved: a normal or emergency change with approved = false, or NULL where
--     its source records approvals at all (some change of the source has one).
-- $limit (NULL for all): list only the first $limit items in the output order,
--   flags worked out for those alone; `total` counts every planned item.
with items as (
    select 'release' as kind, source, release_id as id, title, service, release_type as type,
           null::boolean as approved, state, planned_start,
           coalesce(planned_end, planned_start + interval 1 hour) as planned_end,
           planned_end is null as end_missing, null::varchar as release_id
    from releases
    where planned_start is not null
      and coalesce(state, '') <> 'cancelled' and coalesce(outcome, '') <> 'cancelled'
    union all
    select 'change', source, change_id, title, service, change_type,
           approved, state, planned_start,
           coalesce(planned_end, planned_start + interval 1 hour),
           planned_end is null, release_id
    from changes
    where planned_start is not null
      and coalesce(state, '') <> 'cancelled' and coalesce(outcome, '') <> 'cancelled'
),
ranked as (
    select *,
           row_number() over (order by planned_start, coalesce(service, ''), kind desc, id) as pos,
           count(*) over () as total
    from items where planned_start < $period_to and planned_end > $period_from
),
planned as (
    select *, $limit is null or pos <= $limit as listed from ranked
),
slots as (
    select kind, source, id, release_id, planned_start, planned_end, service as target, listed
    from planned where service is not null
    union
    select p.kind, p.source, p.id, p.release_id, p.planned_start, p.planned_end, a.ci, p.listed
    from planned p
    join change_affected_cis a on a.source = p.source and a.change_id = p.id
    where p.kind = 'change'
),
slot_days as (
    -- Each slot on every day it touches: colliding slots share a day, so the
    -- self-join below is an equality join on (source, target, day) and not every
    -- pair of a target's slots (quadratic: ~7 s at 1M changes).
    select s.*, unnest(generate_series(date_trunc('day', s.planned_start),
                                       date_trunc('day', greatest(s.planned_start, s.planned_end - interval 1 microsecond)),
                                       interval 1 day)) as day
    from slots s
),
collisions as (
    select a.kind, a.source, a.id,
           string_agg(distinct b.id || ' on ' || a.target, ', ' order by b.id || ' on ' || a.target) as collides_with
    from slot_days a
    join slot_days b
      on a.listed and a.source = b.source and a.target = b.target and a.day = b.day
     and not (a.kind = b.kind and a.id = b.id)
     and a.planned_start < b.planned_end and b.planned_start < a.planned_end
     -- (coalesce: a NULL release_id must not turn the whole condition NULL)
     and not coalesce(a.kind = 'change' and b.kind = 'release' and a.release_id = b.id, false)
     and not coalesce(a.kind = 'release' and b.kind = 'change' and b.release_id = a.id, false)
     and not coalesce(a.kind = 'change' and b.kind = 'change' and a.release_id = b.release_id, false)
    group by all
),
windows as (
    select unnest(from_json($freeze_windows::varchar, '[{"name":"VARCHAR","from":"TIMESTAMP","to":"TIMESTAMP"}]'), recursive := true)
),
frozen as (
    select p.kind, p.source, p.id, string_agg(distinct w.name, ', ') as freeze
    from planned p
    join windows w on p.planned_start < w."to" and w."from" < p.planned_end
    where p.listed
    group by all
),
approval_recorded as (
    select source from changes group by source having count(approved) > 0
),
final as (
    select p.planned_start::date as day, p.kind, p.source, p.id, p.title, p.service, p.type, p.state,
           p.planned_start, case when p.end_missing then null else p.planned_end end as planned_end,
           c.collides_with, f.freeze,
           (p.kind = 'change' and p.type in ('normal', 'emergency')
            and (p.approved = false
                 or (p.approved is null and p.source in (select source from approval_recorded)))) as unapproved,
           p.total, p.pos
    from planned p
    left join collisions c on c.kind = p.kind and c.source = p.source and c.id = p.id
    left join frozen f on f.kind = p.kind and f.source = p.source and f.id = p.id
    where p.listed
)
select * exclude (pos) from final
order by pos
