create view v_collist (a, b, c) as select id, sku, price * 2 from fk_products;
