create table `name with spaces` (
  `col with space` int not null,
  `another col` varchar(10) default 'a b',
  primary key (`col with space`),
  key `idx with space` (`another col`)
);
