-- export: releases, with the month they belong to (deployment, else planned start, else request).
select *, coalesce(strftime(coalesce(actual_end, planned_start, requested_at), '%Y-%m'), 'unknown') as month
from releases
