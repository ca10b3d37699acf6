-- review: satisfaction answers about the release.
select response_id, submitted_at, score, comment
from satisfaction
where source = $release_source and release_id = $release_id
order by submitted_at, response_id
