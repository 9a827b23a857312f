create function fn_answer() returns int deterministic no sql return 42;
