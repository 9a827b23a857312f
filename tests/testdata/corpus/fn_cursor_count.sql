DELIMITER //
create function fn_cursor_count(p_status varchar(20)) returns int
    reads sql data
    not deterministic
begin
  declare done bool default false;
  declare n int default 0;
  declare v_id int unsigned;
  declare c1 cursor for select id from fk_orders where status = p_status;
  declare continue handler for not found set done = true;
  open c1;
  repeat
    fetch c1 into v_id;
    if not done then
      set n = n + 1;
    end if;
  until done end repeat;
  close c1;
  return n;
end//
DELIMITER ;
