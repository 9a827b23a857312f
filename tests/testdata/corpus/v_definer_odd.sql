create algorithm=merge definer=`root`@`localhost` sql security definer view `v_definer_odd` as
select d.`id-col` as `id col`, d.`val-x`, u.`名前`, t.`c"d`
from `dash-name` d
left join `ünïcödé_tbl` u on u.`ключ` = d.`id-col`
left join `tick``tab` t on t.`a``b` = d.`id-col`;
