-- The DORA performance band of a value: dora_bands holds queries/benchmarks/dora_bands.csv
-- (edition, kpi, band, min_value inclusive, max_value exclusive or open).
-- $metric is the DORA metric (deployment_frequency in deployments per day, lead_time in
-- days, change_failure_rate as a ratio, recovery_time in hours).
select band, description
from dora_bands
where edition = $edition and kpi = $metric
  and $value >= min_value and ($value < max_value or max_value is null)
order by rank
limit 1
