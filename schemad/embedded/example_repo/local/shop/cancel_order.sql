DELIMITER //
CREATE DEFINER=`root`@`localhost` PROCEDURE `cancel_order`(IN p_order_id BIGINT UNSIGNED)
    MODIFIES SQL DATA
    COMMENT 'Mark an order cancelled'
BEGIN
  UPDATE orders SET status = 'cancelled' WHERE id = p_order_id AND status <> 'shipped';
END//
DELIMITER ;
