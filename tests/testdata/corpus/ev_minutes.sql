DELIMITER //
create event ev_minutes on schedule every '1:30' hour_minute starts '2030-01-01' ends '2030-12-31 12:00:00' enable comment 'calls a proc' do call proc_cursor_totals(100)//
DELIMITER ;
