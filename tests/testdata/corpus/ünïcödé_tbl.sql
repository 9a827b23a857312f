create table `ünïcödé_tbl` (
  `ключ` int not null primary key,
  `名前` varchar(20),
  `café` decimal(4,2) default 1.50,
  key `索引` (`名前`)
) default charset=utf8mb4;
