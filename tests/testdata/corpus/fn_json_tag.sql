DELIMITER //
create definer=`root`@`localhost` function fn_json_tag(doc longtext, tag varchar(32) character set ascii) returns json
deterministic
no sql
begin
  return json_set(coalesce(doc, '{}'), '$.tag', tag);
end//
DELIMITER ;
