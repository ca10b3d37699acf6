-- review: the sources holding a release id.
select source from releases where release_id = $release_id order by source
