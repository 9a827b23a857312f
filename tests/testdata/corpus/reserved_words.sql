create table reserved_words (
  `key` int not null,
  `order` int not null default 0,
  `desc` varchar(50),
  `select` tinyint,
  `group` varchar(10),
  `index` int,
  `from` date,
  `table` text,
  primary key (`key`),
  key `order` (`order`, `desc`),
  unique key `select` (`select`),
  key `group` (`group`(5))
);
