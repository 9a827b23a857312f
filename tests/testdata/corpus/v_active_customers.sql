create algorithm=undefined sql security invoker view v_active_customers as
select id, email, name, active from fk_customers where active = 1
with check option;
