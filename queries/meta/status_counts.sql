-- Rows per canonical table and source, with the time span each covers.
select 'releases' as table_name, source, count(*) as rows, min(requested_at) as first, max(actual_end) as last from releases group by all
union all
select 'changes', source, count(*), min(opened_at), max(actual_end) from changes group by all
union all
select 'change_cis', source, count(*), null, null from change_cis group by all
union all
select 'incidents', source, count(*), min(opened_at), max(opened_at) from incidents group by all
union all
select 'satisfaction', source, count(*), min(submitted_at), max(submitted_at) from satisfaction group by all
order by 1, 2
