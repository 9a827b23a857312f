DELIMITER //
create definer=`root`@`localhost` trigger trg_orders_bi_precedes
before insert on fk_orders
for each row precedes trg_orders_bi
begin
  if new.status is null then
    set new.status = 'pending';
  end if;
end//
DELIMITER ;
