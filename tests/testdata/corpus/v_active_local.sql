create view v_active_local as
select id, email from v_active_customers where email like '%@example.com'
with local check option;
