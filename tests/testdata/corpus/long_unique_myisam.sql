create table long_unique_myisam (
  id int not null,
  payload longblob,
  note mediumtext,
  unique key uq_payload (payload),
  unique key uq_note_id (note, id) comment 'hash unique'
) engine=MyISAM;
