-- Migration 5: change_affected_cis without the duplicate elimination of migration 2.
--
-- Its two branches cannot share a row: the second holds only changes with no
-- change_cis row, one row each (changes are keyed). And change_cis holds each
-- (source, change_id, ci) once: the import writes a change's CI set as distinct
-- rows after deleting the stored set. So `union` only paid for a hash
-- aggregate over every row and removed nothing (the view at 1M changes:
-- 0.9 s -> 0.67 s). A client writing duplicate rows into
-- change_cis by hand sees them here twice; the attribution and the forward
-- schedule are unaffected (they group by CI and end, or union, anyway).
create or replace view change_affected_cis as
select source, change_id, ci from change_cis
union all
select c.source, c.change_id, c.service as ci
from changes c
where c.service is not null
  and not exists (select 1 from change_cis x where x.source = c.source and x.change_id = c.change_id);
