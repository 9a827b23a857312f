create function fn_time_bucket(ts datetime(6), mins smallint unsigned) returns datetime deterministic return from_unixtime(floor(unix_timestamp(ts) / (mins * 60)) * mins * 60);
