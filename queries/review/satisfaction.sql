-- review: satisfaction answers about each release under review.
-- Releases under review: the temp table review_releases (source, release_id); see changes.sql.
select s.source, s.release_id, s.response_id, s.submitted_at, s.score, s.comment
from satisfaction s
semi join review_releases k on k.source = s.source and k.release_id = s.release_id
order by s.source, s.release_id, s.submitted_at, s.response_id
