DELIMITER //
CREATE FUNCTION fn_latin1_label(p varchar(50)) RETURNS varchar(100) CHARSET latin1
    DETERMINISTIC
    COMMENT 'wraps in [brackets]'
begin
  return concat('[', p, ']');
end//
DELIMITER ;
