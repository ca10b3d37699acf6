-- records: release_success_rate
-- The releases deployed in the period that failed (the complement of the numerator), and why.
with facts as (
    select * from release_facts(window_days := $window_days, major_priority := $major_priority, ci_window := $ci_window)
),
final as (
    select release_id as record_id, title, service, team, actual_end as occurred_at, null::double as value,
           concat_ws('; ',
               case when outcome in ('failed', 'rolled_back') then 'outcome ' || outcome end,
               case when major_incidents > 0 then major_incidents || ' major incident(s) within the window' end) as detail
    from facts
    where is_deployed(actual_end, state, outcome, $period_from, $period_to) and failed
)
select * from final order by occurred_at, record_id
