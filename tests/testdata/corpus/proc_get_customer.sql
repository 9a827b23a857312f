DELIMITER //
create procedure proc_get_customer(in p_id int unsigned, out p_name varchar(100), out p_orders int)
reads sql data
comment 'fetch customer''s name and "order" count'
begin
  select name into p_name from fk_customers where id = p_id;
  select count(*) into p_orders from fk_orders where customer_id = p_id;
end//
DELIMITER ;
