create sql security invoker view v_window as
select id, customer_id, total,
       row_number() over (partition by customer_id order by created_at desc) as rn,
       sum(total) over w as running
from fk_orders
window w as (partition by customer_id order by id);
