DELIMITER //
create function fn_invoker(p_email varchar(191), p_strict bool) returns text charset utf8mb4 collate utf8mb4_bin
sql security invoker
reads sql data
comment 'quotes '' and " in a comment; plus // slashes'
begin
  declare v_name varchar(100);
  declare continue handler for not found set v_name = null;
  select name into v_name from fk_customers where email = p_email limit 1;
  if v_name is null and p_strict then
    return 'unknown; "none" // here';
  end if;
  return concat('Hello, ', coalesce(v_name, 'it''s nobody'), '!');
end//
DELIMITER ;
