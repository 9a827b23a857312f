create table `dot.name` (
  id int not null primary key,
  `x.y` int
);
