DELIMITER //
create trigger `trg_space_bi` before insert on `name with spaces` for each row
begin
  set new.`another col` = upper(new.`another col`);
end//
DELIMITER ;
