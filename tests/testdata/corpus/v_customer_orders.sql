create algorithm=merge sql security definer view v_customer_orders as
select c.id as customer_id, c.name as customer_name, o.id as order_id, o.total, o.status
from fk_customers c join fk_orders o on o.customer_id = c.id;
