create trigger trg_customers_ai after insert on fk_customers for each row insert into audit_log (table_name, action, row_id) values ('fk_customers', 'INSERT', new.id);
