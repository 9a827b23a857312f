DELIMITER //
create function fn_fib(n int) returns bigint unsigned
not deterministic
contains sql
begin
  declare a bigint unsigned default 0;
  declare b bigint unsigned default 1;
  declare i int default 0;
  declare tmp bigint unsigned;
  fib_loop: loop
    if i >= n then
      leave fib_loop;
    end if;
    set tmp = a + b;
    set a = b;
    set b = tmp;
    set i = i + 1;
  end loop fib_loop;
  return a;
end//
DELIMITER ;
