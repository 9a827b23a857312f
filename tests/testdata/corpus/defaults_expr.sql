create table defaults_expr (
  id int primary key,
  u char(36) default (uuid()),
  two int default (1+1),
  created timestamp not null default current_timestamp(),
  created3 datetime(3) default current_timestamp(3),
  updated timestamp(6) null default null on update current_timestamp(6),
  nowcol datetime default now(),
  lt timestamp null default localtimestamp on update localtimestamp,
  d date default (curdate()),
  label varchar(40) default (concat('id-', 'x')),
  rnd double default (rand()),
  yr int default (year(now())),
  j longtext default (json_object('k', 1, 'v', 'it''s')),
  neg int default (-1 * 5),
  n2 int default (two * 2)
);
