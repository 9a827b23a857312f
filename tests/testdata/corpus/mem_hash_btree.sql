create table mem_hash_btree (
  id int not null,
  code char(10) not null,
  name varchar(100),
  val int,
  primary key (id) using hash,
  key idx_code (code) using btree,
  key idx_name using hash (name),
  unique key uq_val (val) using btree,
  key idx_plain (code, val)
) engine=memory max_rows=10000 comment='memory table';
