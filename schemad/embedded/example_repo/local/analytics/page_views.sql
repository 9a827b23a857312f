CREATE TABLE `page_views` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `path` varchar(500) NOT NULL,
  `viewed_on` date NOT NULL,
  `visitor` binary(16) DEFAULT NULL,
  PRIMARY KEY (`id`,`viewed_on`),
  KEY `path` (`path`(100))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci
 PARTITION BY RANGE (year(`viewed_on`))
(PARTITION `p2025` VALUES LESS THAN (2026) ENGINE = InnoDB,
 PARTITION `p2026` VALUES LESS THAN (2027) ENGINE = InnoDB,
 PARTITION `pmax` VALUES LESS THAN MAXVALUE ENGINE = InnoDB);
