create table binaries_blobs (
  id int not null primary key,
  b binary,
  b16 binary(16) not null default '',
  vb varbinary(255) default 'abc',
  vb_hex varbinary(8) default x'414243',
  tb tinyblob,
  bl blob,
  bl200 blob(200),
  mb mediumblob,
  lb longblob not null,
  bl_def blob default 'xyz',
  char_bin char(10) binary,
  vc_bin varchar(20) binary not null default 'B'
) engine=InnoDB row_format=dynamic;
