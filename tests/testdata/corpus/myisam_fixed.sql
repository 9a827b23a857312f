create table myisam_fixed (
  id int unsigned not null,
  code char(10) not null default '',
  amount decimal(10,2),
  primary key (id),
  key idx_code (code) key_block_size=2048
) engine=MyISAM pack_keys=0 checksum=0 row_format=fixed key_block_size=1024 comment 'fixed rows';
