DELIMITER //
create procedure proc_inout(inout counter bigint unsigned, in step decimal(5,2), in label varchar(20) charset latin1, out msg text)
deterministic
no sql
comment 'no sql; just math'
begin
  declare i int default 0;
  while i < 3 do
    set counter = counter + ceil(step);
    set i = i + 1;
  end while;
  repeat
    set counter = counter - 1;
  until counter < 100 or counter = 0 end repeat;
  set msg = concat(label, ': ', counter);
end//
DELIMITER ;
