create table fk_employees (
  id int not null auto_increment primary key,
  name varchar(100) not null,
  manager_id int,
  mentor_id int,
  dept_country char(2) character set ascii,
  dept_code varchar(10) character set ascii,
  key idx_mgr (manager_id),
  foreign key (manager_id) references fk_employees (id) on delete set null,
  constraint fk_emp_mentor foreign key (mentor_id) references fk_employees (id) on delete no action on update no action,
  constraint fk_emp_dept foreign key (dept_country, dept_code) references fk_regions (country, code) on delete restrict on update restrict
) engine=InnoDB;
