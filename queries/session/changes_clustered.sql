-- Whether `changes`, as stored, is already in actual_end order closely
-- enough that the change facts need no sort (attribution_build.sql,
-- {facts_order}). A period's filter skips the row groups (122,880 rows) whose
-- actual_end range lies outside it; sorted, each group would span the whole
-- range divided by the groups. Clustered: the groups as stored span, on
-- average, less than a month more than that, so a month's filter reads at
-- most about one group more per group it needs. False of an export in no
-- time order; one group, or none, is always clustered. An export in number
-- order (numbers grow with time in every source we know) comes close: the
-- import's inserts run on two threads, so a row group may hold two runs of
-- the file. The generated 10M changes are clustered (groups of about 9 days
-- sorted); the generated 1M are not (groups of 91-192 days against 88 sorted)
-- and their facts are sorted.
--
-- At 10M changes (release build) sorting the facts took 11.2 s of the 29.9 s
-- the derived tables took; unsorted 6.5 s, and every KPI the same, as fast.
with groups as (
    select rowid // 122880 as grp,
           epoch(min(actual_end)) as lo,
           epoch(max(actual_end)) as hi
    from {db}.main.changes
    where actual_end is not null
    group by grp
)
select coalesce(avg(hi - lo) <= (max(hi) - min(lo)) / count(*) + 31 * 86400, true) as clustered
from groups
