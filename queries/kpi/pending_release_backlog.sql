-- id: pending_release_backlog
-- title: Pending release backlog
-- unit: count
-- better: lower
-- order: 6
-- test: none
-- stock: yes
-- definition: Releases requested before the period end (requested_at < to) that at the
--   period end were neither deployed (actual_end NULL or >= to) nor closed or cancelled
--   (closed_at NULL or >= to). extra.median_age_days is their median age at the period end.
-- excludes: releases without requested_at. NULL when the warehouse holds no releases, or
--   none with a requested_at (with that reason); sources whose releases have none are
--   left out, and the note names them.
-- needs: releases.requested_at
-- partial: releases.closed_at (closed releases that were never deployed count as
--   pending)
with pending as (
    select kpi_group($by, service, team, release_type, null, source) as grp,
           release_id,
           epoch($period_to::timestamp - requested_at) / 86400.0 as age_days
    from releases
    where requested_at < $period_to
      and (actual_end is null or actual_end >= $period_to)
      and (closed_at is null or closed_at >= $period_to)
),
groups as (select * from kpi_groups('pending', $by)),
has_releases as (
    select count(*) > 0 as any_release,
           count(requested_at) > 0 as any_requested,
           -- Sources that never record when a release was requested: their
           -- backlog is unknown, not empty.
           (select string_agg(distinct source, ', ' order by source) from releases
            where source not in (select source from releases where requested_at is not null)) as unrecorded
    from releases
),
final as (
    select g.grp as group_value,
           case when h.any_requested then count(p.release_id)::double end as value,
           null::bigint as numerator,
           null::bigint as denominator,
           count(p.release_id) as count,
           case when not h.any_release then 'no release records in the warehouse'
                when not h.any_requested then 'no release request times (requested_at) in source ' || h.unrecorded
                when h.unrecorded is not null then 'leaves out source ' || h.unrecorded || ': no release request times (requested_at)'
           end as note,
           to_json({median_age_days: quantile_cont(p.age_days, 0.5), oldest_age_days: max(p.age_days)}) as extra
    from groups g
    left join pending p on p.grp is not distinct from g.grp
    cross join has_releases h
    group by g.grp, h.any_release, h.any_requested, h.unrecorded
)
select * from final order by group_value nulls first
