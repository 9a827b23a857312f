create table `dash-name` (
  `id-col` int not null primary key,
  `val-x` int,
  constraint `chk-val` check (`val-x` > -1)
);
