CREATE TABLE OrderHistory (
  OrderID INT NOT NULL,
  CustomerName VARCHAR(100),
  Placed DATETIME,
  PRIMARY KEY (OrderID),
  KEY IdxPlaced (Placed)
);
