-- records: user_satisfaction
-- The satisfaction responses submitted in the period, with their score.
select s.response_id as record_id, coalesce(s.comment, '') as title, coalesce(s.service, r.service) as service, r.team,
       s.submitted_at as occurred_at, s.score::double as value, coalesce('release ' || s.release_id, '') as detail
from satisfaction s
left join releases r on r.source = s.source and r.release_id = s.release_id
where s.submitted_at >= $period_from and s.submitted_at < $period_to and s.score is not null
order by occurred_at, record_id
