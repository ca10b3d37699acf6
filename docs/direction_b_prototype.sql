-- The issue's direction (b), prototyped for a measurement (docs/benchmarks.md,
-- "The issue's direction (b) measured"): the ServiceNow changes file of
-- `relkpi generate` read by DuckDB with its timestamps typed by the reader and
-- the vocabularies mapped in SQL. Not used by relkpi. Run as
--   sed "s#{file}#$PWD/data/change_request.csv#" docs/direction_b_prototype.sql > /tmp/p.sql
--   relkpi --db /tmp/p.duckdb sql --write "$(cat /tmp/p.sql)"
-- The vocabularies here are shortened (the cost does not depend on them); the
-- text-only variant reads with all_varchar=true and parses each timestamp with
-- try_strptime(trim(x), '%Y-%m-%d %H:%M:%S').
create or replace table c as
with r as (select * from read_csv('{file}', header=true, all_varchar=false, auto_detect=false, store_rejects=true, timestampformat='%Y-%m-%d %H:%M:%S', columns={'number':'varchar','short_description':'varchar','type':'varchar','risk':'varchar','state':'varchar','close_code':'varchar','approval':'varchar','approval_set':'timestamp','cab_required':'varchar','u_release':'varchar','business_service':'varchar','assignment_group':'varchar','cmdb_ci':'varchar','opened_at':'timestamp','start_date':'timestamp','end_date':'timestamp','work_start':'timestamp','work_end':'timestamp','closed_at':'timestamp','sys_updated_on':'timestamp','u_origin':'varchar'})),
m as (
select 'servicenow' as source,
 nullif(trim(number),'') as change_id,
 nullif(trim(short_description),'') as title,
 case lower(trim(type)) when 'standard' then 'standard' when 'normal' then 'normal' when 'emergency' then 'emergency' when 'pre-approved' then 'standard' when 'routine' then 'standard' when 'comprehensive' then 'normal' when 'expedited' then 'normal' when '' then null else 'other' end as change_type,
 case lower(trim(risk)) when '1' then 'very_high' when '2' then 'high' when '3' then 'moderate' when '4' then 'low' when 'very high' then 'very_high' when 'high' then 'high' when 'moderate' then 'moderate' when 'low' then 'low' else null end as risk,
 case lower(trim(state)) when '-5' then 'new' when '-4' then 'assess' when '-3' then 'authorize' when '-2' then 'scheduled' when '-1' then 'implement' when '0' then 'review' when '3' then 'closed' when '4' then 'cancelled' when 'closed' then 'closed' when 'new' then 'new' else null end as state,
 case lower(trim(close_code)) when 'successful' then 'successful' when 'successful_issues' then 'successful_with_issues' when 'unsuccessful' then 'unsuccessful' when 'rolled back' then 'rolled_back' when 'rolled_back' then 'rolled_back' when 'canceled' then 'cancelled' else null end as outcome,
 case lower(trim(u_origin)) when 'planned' then 'planned' when 'incident' then 'incident' when 'problem' then 'problem' when '' then null else 'other' end as origin,
 case lower(trim(cab_required)) when 'true' then true when 'false' then false when '1' then true when '0' then false else null end as cab_required,
 case lower(trim(approval)) when 'approved' then true when 'rejected' then false when 'requested' then false else null end as approved,
 nullif(trim(u_release),'') as release_id,
 nullif(trim(business_service),'') as service,
 nullif(trim(assignment_group),'') as team,
 opened_at as opened_at,
 approval_set as approved_at,
 start_date as planned_start,
 end_date as planned_end,
 work_start as actual_start,
 work_end as actual_end,
 closed_at as closed_at,
 sys_updated_on as updated_at,
 1 as batch_id,
 nullif(trim(cmdb_ci),'') as ci,
 false as bad
from r)
select * from m;
