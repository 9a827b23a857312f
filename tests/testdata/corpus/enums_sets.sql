create table enums_sets (
  id int auto_increment,
  status enum('new','in progress','done') not null default 'new',
  quoted enum('it''s','say "hi"','back\\slash','semi;colon','comma,val','ünïcödé ☃','') default 'it''s',
  lead_trail enum(' lead','trail ','mid dle') default ' lead',
  perms set('read','write','exec') not null default 'read,write',
  odd set('a''b','c"d','e\\f','%','_','(x)','/* not a comment */') default '',
  sizes ENUM('S','M','L','XL') CHARACTER SET latin1 COLLATE latin1_bin,
  nums enum('1','2','10') default '10',
  req enum('x','y') not null,
  primary key(id)
);
