create table geo_shapes (
  id int not null auto_increment primary key,
  g geometry not null,
  p point ref_system_id=4326 not null,
  ls linestring,
  pg polygon,
  mp multipoint,
  mls multilinestring,
  mpg multipolygon,
  gc geometrycollection,
  gc2 geometrycollection default null,
  spatial index sp_g (g),
  spatial key (p)
) engine=innodb;
