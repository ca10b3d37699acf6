-- records: change_failure_rate
-- The changes implemented in the period that failed, and why.
with facts as (
    select * from change_facts(window_days := $window_days, ci_window := $ci_window)
),
final as (
    select change_id as record_id, title, service, team, actual_end as occurred_at, null::double as value,
           concat_ws('; ',
               case when outcome in ('unsuccessful', 'rolled_back') then 'outcome ' || outcome end,
               case when incidents_caused > 0 then incidents_caused || ' incident(s) caused' end) as detail
    from facts
    where is_implemented(actual_end, state, outcome, $period_from, $period_to) and failed
)
select * from final order by occurred_at, record_id
