-- Migration 2: incident attribution (spec/KPIS.md "Terms") as table macros, so the
-- window and switches are parameters, plus views with the defaults for analysts:
--   select * from incident_change_links;                       -- W = 7 days, CI window on
--   select * from incident_change_attribution(14, false);      -- other settings
-- Every link records its method: 'explicit' or 'ci_window'.

-- The CIs a change affects: its change_cis rows, or its service when it has none.
create view change_affected_cis as
select source, change_id, ci from change_cis
union
select c.source, c.change_id, c.service as ci
from changes c
where c.service is not null
  and not exists (select 1 from change_cis x where x.source = c.source and x.change_id = c.change_id);

-- Incident -> change that caused it. Explicit link first; otherwise (CI window on,
-- incident with no explicit link of either kind, even a dangling one) the change with
-- an affected CI equal to coalesce(cause_ci, ci) and actual_end <= opened_at < actual_end + W;
-- several qualify: latest actual_end, ties greatest change_id.
create macro incident_change_attribution(window_days := 7, ci_window := true) as table
with explicit_links as (
    select i.source, i.incident_id, c.change_id, 'explicit' as method
    from incidents i
    join changes c on c.source = i.source and c.change_id = i.caused_by_change
),
window_candidates as (
    select i.source, i.incident_id, c.change_id,
           row_number() over (partition by i.source, i.incident_id
                              order by c.actual_end desc, c.change_id desc) as rn
    from incidents i
    join change_affected_cis cc on cc.source = i.source and cc.ci = coalesce(i.cause_ci, i.ci)
    join changes c on c.source = cc.source and c.change_id = cc.change_id
    where ci_window
      and i.caused_by_change is null and i.related_release is null
      and c.actual_end is not null and i.opened_at is not null
      and i.opened_at >= c.actual_end
      and i.opened_at < c.actual_end + to_days(cast(window_days as integer))
),
final as (
    select source, incident_id, change_id, method from explicit_links
    union all
    select source, incident_id, change_id, 'ci_window' as method from window_candidates where rn = 1
)
select * from final;

-- Incident -> release it is attributed to, first rule that applies:
-- 1. related_release (explicit); 2. caused by a change of the release (method of that
-- change link); 3. CI window on releases (incidents with no explicit link only):
-- r.service = coalesce(cause_ci, ci), actual_end <= opened_at < actual_end + W,
-- latest actual_end, ties greatest release_id.
create macro incident_release_attribution(window_days := 7, ci_window := true) as table
with by_release_link as (
    select i.source, i.incident_id, r.release_id, 'explicit' as method, null::varchar as via_change, 1 as rule
    from incidents i
    join releases r on r.source = i.source and r.release_id = i.related_release
),
by_change as (
    select a.source, a.incident_id, r.release_id, a.method, a.change_id as via_change, 2 as rule
    from incident_change_attribution(window_days := window_days, ci_window := ci_window) a
    join changes c on c.source = a.source and c.change_id = a.change_id
    join releases r on r.source = c.source and r.release_id = c.release_id
),
by_window as (
    select i.source, i.incident_id, r.release_id, 'ci_window' as method, null::varchar as via_change, 3 as rule,
           row_number() over (partition by i.source, i.incident_id
                              order by r.actual_end desc, r.release_id desc) as rn
    from incidents i
    join releases r on r.source = i.source and r.service = coalesce(i.cause_ci, i.ci)
    where ci_window
      and i.caused_by_change is null and i.related_release is null
      and r.actual_end is not null and i.opened_at is not null
      and i.opened_at >= r.actual_end
      and i.opened_at < r.actual_end + to_days(cast(window_days as integer))
),
candidates as (
    select source, incident_id, release_id, method, via_change, rule from by_release_link
    union all
    select source, incident_id, release_id, method, via_change, rule from by_change
    union all
    select source, incident_id, release_id, method, via_change, rule from by_window where rn = 1
),
final as (
    select source, incident_id, release_id, method, via_change
    from candidates
    qualify row_number() over (partition by source, incident_id order by rule) = 1
)
select * from final;

create view incident_change_links as select * from incident_change_attribution();
create view incident_release_links as select * from incident_release_attribution();

-- Kind of group a KPI is broken down by (--by). Releases pass release_type as change_type.
create macro kpi_group(dim, service, team, change_type, risk, source) as
    case dim
        when 'service' then coalesce(service, '(none)')
        when 'team' then coalesce(team, '(none)')
        when 'change_type' then coalesce(change_type, '(none)')
        when 'risk' then coalesce(risk, '(none)')
        when 'source' then source
        else null
    end;

-- Releases deployed in [period_from, period_to): actual_end in the period, not cancelled.
create macro is_deployed(actual_end, state, outcome, period_from, period_to) as
    actual_end >= period_from and actual_end < period_to
    and coalesce(state, '') <> 'cancelled' and coalesce(outcome, '') <> 'cancelled';

-- Per release: failure (outcome failed/rolled_back or a major incident within W
-- attributed to it) and defects (incidents of any priority attributed and opened within W).
create macro release_facts(window_days := 7, major_priority := 2, ci_window := true) as table
with links as (
    select l.source, l.release_id, i.incident_id, i.priority, l.method
    from incident_release_attribution(window_days := window_days, ci_window := ci_window) l
    join incidents i on i.source = l.source and i.incident_id = l.incident_id
    join releases r on r.source = l.source and r.release_id = l.release_id
    where i.opened_at >= r.actual_end
      and i.opened_at < r.actual_end + to_days(cast(window_days as integer))
),
per_release as (
    select source, release_id,
           count(*) as defects,
           count(*) filter (where method = 'explicit') as defects_explicit,
           count(*) filter (where method = 'ci_window') as defects_ci_window,
           count(*) filter (where priority <= major_priority) as major_incidents
    from links group by all
),
final as (
    select r.*,
           coalesce(p.defects, 0) as defects,
           coalesce(p.defects_explicit, 0) as defects_explicit,
           coalesce(p.defects_ci_window, 0) as defects_ci_window,
           coalesce(p.major_incidents, 0) as major_incidents,
           (coalesce(r.outcome in ('failed', 'rolled_back'), false) or coalesce(p.major_incidents, 0) > 0) as failed
    from releases r
    left join per_release p on p.source = r.source and p.release_id = r.release_id
)
select * from final;

-- Per change: failure (outcome unsuccessful/rolled_back or at least one incident caused by it).
create macro change_facts(window_days := 7, ci_window := true) as table
with caused as (
    select source, change_id, count(*) as incidents
    from incident_change_attribution(window_days := window_days, ci_window := ci_window)
    group by all
),
final as (
    select c.*,
           coalesce(k.incidents, 0) as incidents_caused,
           (coalesce(c.outcome in ('unsuccessful', 'rolled_back'), false) or coalesce(k.incidents, 0) > 0) as failed
    from changes c
    left join caused k on k.source = c.source and k.change_id = c.change_id
)
select * from final;

-- Changes implemented in [period_from, period_to): actual_end in the period, not cancelled.
create macro is_implemented(actual_end, state, outcome, period_from, period_to) as
    actual_end >= period_from and actual_end < period_to
    and coalesce(state, '') <> 'cancelled' and coalesce(outcome, '') <> 'cancelled';
