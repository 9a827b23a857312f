create event ev_at_interval on schedule at '2036-06-15 12:00:00' + interval 1 day on completion not preserve do delete from audit_log where id = 0;
