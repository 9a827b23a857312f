create table part_composite_pk (
  tenant_id int unsigned not null,
  order_id bigint unsigned not null auto_increment,
  created date not null,
  total decimal(12,2) not null default 0,
  primary key (order_id, tenant_id, created),
  key idx_tenant (tenant_id, created)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin
partition by range columns (created, tenant_id) (
  partition p_a values less than ('2024-01-01', 0),
  partition p_b values less than ('2025-01-01', 1000),
  partition p_max values less than (maxvalue, maxvalue)
);
