-- review: policy violations of the release's changes (policy_violations, filled by relkpi
-- from queries/policies/ before the card is built).
select v.change_id, v.policy, v.detail
from policy_violations v
join changes c on c.source = v.source and c.change_id = v.change_id
where c.source = $release_source and c.release_id = $release_id
order by v.change_id, v.policy
