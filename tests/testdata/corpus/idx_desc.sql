create table idx_desc (
  id int not null,
  created datetime not null,
  score int,
  name varchar(50),
  primary key (id desc),
  key idx_created (created desc, id),
  key (score desc, name(10) desc),
  unique key uq (name desc, score asc),
  key idx_ign_desc (score, created desc) ignored
);
