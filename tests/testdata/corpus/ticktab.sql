create table `tick``tab` (
  `a``b` int not null,
  `c"d` varchar(10),
  primary key (`a``b`),
  key `k``1` (`c"d`)
);
