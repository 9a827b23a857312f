create table part_list_columns_single (
  code varchar(5) not null,
  qty int not null default 0
) partition by list columns (code) (
  partition pa values in ('a', 'b', 'it''s'),
  partition pb values in ('c')
);
