DELIMITER //
CREATE TRIGGER trg_customers_bu BEFORE UPDATE ON fk_customers
FOR EACH ROW
BEGIN
  SET NEW.email = LOWER(TRIM(NEW.email));
  IF NEW.name = '' THEN
    SET NEW.name = OLD.name;
  ELSEIF NEW.name LIKE '%;%' THEN
    SET NEW.name = REPLACE(NEW.name, ';', ',');
  ELSE
    BEGIN
      DECLARE tmp VARCHAR(100) DEFAULT 'it''s "fine"';
      SET @last_customer_note = tmp;
    END;
  END IF;
END//
DELIMITER ;
