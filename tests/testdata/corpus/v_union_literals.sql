create view v_union_literals as
select 'it''s' as label, 1 as n, case when 1 = 1 then 'yes' else 'no' end as flag
union all
select "semi;colon//", 2, 'back\\slash'
union
select _latin1'latin', 3, null;
