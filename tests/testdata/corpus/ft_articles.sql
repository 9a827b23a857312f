create table ft_articles (
  id int unsigned auto_increment not null primary key,
  title varchar(200),
  body text,
  tags varchar(255),
  fulltext key ft_title (title),
  fulltext index ft_all (title, body) comment 'search index',
  fulltext (tags)
) engine=InnoDB;
