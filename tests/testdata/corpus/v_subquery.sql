create view v_subquery as
select p.id, p.sku,
       (select count(*) from fk_order_items i where i.product_id = p.id) as times_ordered,
       x.max_price
from fk_products p
cross join (select max(price) as max_price from fk_products) x
where p.id in (select product_id from fk_order_items) or not p.discontinued;
