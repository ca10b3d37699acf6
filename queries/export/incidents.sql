-- export: incidents, in the month they were opened.
select *, coalesce(strftime(opened_at, '%Y-%m'), 'unknown') as month
from incidents
