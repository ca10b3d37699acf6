-- Migration 9: the groups a KPI reports, as one macro instead of the same CTE
-- in every KPI file. `t` names the KPI's CTE (or table) of rows with a `grp`
-- column (kpi_group); `dim` is the breakdown ($by). Broken down, every group
-- present; not broken down, the one group NULL, present even when there are
-- no rows, so an empty period still gives a row (its value NULL or 0).
create macro kpi_groups(t, dim) as table
    select distinct grp from query_table(t)
    union
    select null where dim = 'none';
