DELIMITER //
create trigger trg_orders_bi before insert on fk_orders for each row
begin
  if new.total < 0 then
    signal sqlstate '45000' set message_text = 'negative total; rejected';
  end if;
  set new.note = concat_ws(' // ', new.note, 'created');
end//
DELIMITER ;
