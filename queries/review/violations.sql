-- review: policy violations of the changes of each release under review
-- (policy_violations, filled by relkpi from queries/policies/ before the card is built).
-- Releases under review: the temp table review_releases (source, release_id); see changes.sql.
select c.source, c.release_id, v.change_id, v.policy, v.detail
from policy_violations v
join changes c on c.source = v.source and c.change_id = v.change_id
semi join review_releases k on k.source = c.source and k.release_id = c.release_id
order by c.source, c.release_id, v.change_id, v.policy
