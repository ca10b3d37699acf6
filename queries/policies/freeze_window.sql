-- policy: freeze_window
-- title: Implemented inside a change freeze
-- requires: actual_end
-- needs-setting: freeze_windows
-- definition: a change implemented (actual_end, not cancelled) inside a freeze window
--   of the configuration ([from, to), passed as JSON in $freeze_windows, e.g.
--   '[{"name": "Year end", "from": "2024-12-20 00:00:00", "to": "2025-01-03 00:00:00"}]').
with windows as (
    select unnest(from_json($freeze_windows::varchar, '[{"name":"VARCHAR","from":"TIMESTAMP","to":"TIMESTAMP"}]'), recursive := true)
),
final as (
    select c.source, c.change_id, 'freeze_window' as policy,
           'implemented ' || strftime(c.actual_end, '%Y-%m-%d %H:%M') || ' inside freeze window ' || coalesce(w.name, '') as detail
    from changes c
    join windows w on c.actual_end >= w."from" and c.actual_end < w."to"
    where coalesce(c.state, '') <> 'cancelled' and coalesce(c.outcome, '') <> 'cancelled'
)
select * from final
