DELIMITER //
create procedure proc_signal(in p_code char(5), in p_when datetime(3), in p_blob blob, in p_enum enum('a','b'))
not deterministic
contains sql
begin
  outer_blk: begin
    declare n int default 0;
    lbl: loop
      set n = n + 1;
      if n < 3 then
        iterate lbl;
      end if;
      leave lbl;
    end loop lbl;
    case p_code
      when '00000' then
        leave outer_blk;
      when '45000' then
        signal sqlstate '45000' set message_text = 'custom; error //';
      else
        begin
          declare exit handler for sqlexception resignal;
          set @last_when = p_when;
        end;
    end case;
  end outer_blk;
end//
DELIMITER ;
