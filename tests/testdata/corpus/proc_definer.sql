DELIMITER //
create definer=`root`@`localhost` procedure proc_definer()
contains sql
sql security definer
begin
  select 'a;b//c' as s, "it's" as t, 'back\\slash' as u, 'tab	char' as v;
  set @x = 1;
end//
DELIMITER ;
