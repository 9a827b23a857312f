DELIMITER //
create function fn_order_total(p_order_id int unsigned) returns decimal(12,2)
reads sql data
begin
  declare v decimal(12,2) default 0;
  select coalesce(sum(qty * unit_price), 0) into v
    from fk_order_items
   where order_id = p_order_id;
  return v;
end//
DELIMITER ;
