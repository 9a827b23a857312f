create table json_docs (
  id int primary key auto_increment,
  doc json not null,
  meta json default null,
  attrs JSON DEFAULT '{}',
  name varchar(100) as (json_unquote(json_extract(doc, '$.name'))) virtual,
  price decimal(10,2) generated always as (json_extract(doc,'$.price')) stored,
  tag_count int as (json_length(doc, '$.tags')) persistent,
  key idx_name (name),
  key idx_price (price)
);
