create trigger trg_orders_bi_follows before insert on fk_orders for each row follows trg_orders_bi set new.total = round(new.total, 2);
