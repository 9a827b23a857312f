create procedure proc_no_body_block(p_id int) reads sql data select * from fk_orders where id = p_id;
