create algorithm=temptable view v_order_totals as
select o.customer_id, count(*) as n_orders, sum(i.qty * i.unit_price) as revenue, max(o.created_at) last_order
from fk_orders o left join fk_order_items i on i.order_id = o.id
group by o.customer_id
having count(*) > 0;
