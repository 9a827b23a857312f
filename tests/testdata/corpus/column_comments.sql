create table column_comments (
  id int primary key comment 'the ''id''',
  a varchar(10) comment "double \"quoted\"",
  b int comment 'back\\slash and ; semicolon',
  c int comment 'ünïcödé ☃',
  d int comment '',
  e int not null default 3 comment 'multi
line'
) comment='table ''comment'' with quotes';
