create or replace view v_big_spenders as
select t.customer_id, t.revenue, c.email, fn_answer() as answer
from v_order_totals t
join fk_customers c on c.id = t.customer_id
where t.revenue > 1000
order by t.revenue desc;
