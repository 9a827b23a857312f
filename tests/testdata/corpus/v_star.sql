create view v_star as select * from no_pk where a is not null;
