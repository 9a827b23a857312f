DELIMITER //
create procedure proc_comments(out p_out varchar(10))
no sql
begin
  -- line comment; the mariadb CLI strips this, a driver would keep it
  set p_out = 'x'; /* block comment // with slashes */
  # hash comment
  set p_out = concat(p_out, '-- not a comment', '/* nor this */');
end//
DELIMITER ;
