-- The demo shop: a small multi-tenant store for the example workflows.
-- Create it with:  sqlite3 shop.db < workflows/commerce/shop.sql
-- Dates are relative to the moment the database is created, so return
-- windows behave the same whenever the demo runs.
PRAGMA foreign_keys = ON;

CREATE TABLE customers (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	name TEXT NOT NULL,
	email TEXT NOT NULL,
	fraud_flag INT NOT NULL DEFAULT 0
);

CREATE TABLE products (
	sku TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	name TEXT NOT NULL,
	description TEXT NOT NULL,
	category TEXT NOT NULL,
	price_cents INT NOT NULL,
	stock INT NOT NULL,
	final_sale INT NOT NULL DEFAULT 0
);

-- The seeds' orders table, plus what refunds and returns need.
CREATE TABLE orders (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	customer_id TEXT NOT NULL REFERENCES customers(id),
	status TEXT NOT NULL
		CHECK (status IN ('placed', 'processing', 'shipped',
				  'delivered', 'cancelled', 'refunded')),
	total_cents INT NOT NULL,
	currency TEXT NOT NULL DEFAULT 'usd',
	payment_id TEXT NOT NULL,
	placed_at TEXT NOT NULL,
	delivered_at TEXT,
	fraud_flag INT NOT NULL DEFAULT 0
);

CREATE TABLE order_items (
	order_id TEXT NOT NULL REFERENCES orders(id),
	sku TEXT NOT NULL REFERENCES products(sku),
	quantity INT NOT NULL,
	unit_price_cents INT NOT NULL,
	PRIMARY KEY (order_id, sku)
);

-- The seeds' carts table.
CREATE TABLE carts (
	id TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	customer_id TEXT NOT NULL REFERENCES customers(id),
	status TEXT NOT NULL CHECK (status IN ('open', 'ordered', 'abandoned'))
);

CREATE TABLE cart_items (
	cart_id TEXT NOT NULL REFERENCES carts(id),
	sku TEXT NOT NULL REFERENCES products(sku),
	quantity INT NOT NULL,
	PRIMARY KEY (cart_id, sku)
);

CREATE TABLE return_policy (
	tenant_id TEXT PRIMARY KEY,
	window_days INT NOT NULL
);

INSERT INTO return_policy VALUES ('acme', 30), ('globex', 14);

INSERT INTO customers VALUES
	('CUST-1', 'acme', 'Alice Moreau', 'alice@example.com', 0),
	('CUST-2', 'acme', 'Bob Okafor', 'bob@example.com', 0),
	('CUST-3', 'acme', 'Carol Smith', 'carol@example.com', 1),
	('CUST-9', 'globex', 'Dan Weber', 'dan@example.org', 0);

INSERT INTO products VALUES
	('SKU-TEE', 'acme', 'Organic cotton tee',
	 'Heavyweight organic cotton t-shirt, machine washable.',
	 'apparel', 2500, 120, 0),
	('SKU-HOOD', 'acme', 'Fleece hoodie',
	 'Brushed fleece hoodie with a kangaroo pocket.',
	 'apparel', 5500, 40, 0),
	('SKU-SOCK', 'acme', 'Merino socks',
	 'Merino wool socks, pack of three.', 'apparel', 1800, 300, 0),
	('SKU-MUG', 'acme', 'Stoneware mug',
	 'Hand-glazed stoneware mug, 350 ml, dishwasher safe.',
	 'kitchen', 1600, 75, 0),
	('SKU-KNIFE', 'acme', 'Chef knife (clearance)',
	 '20 cm carbon steel chef knife. Clearance: final sale.',
	 'kitchen', 8900, 6, 1),
	('SKU-LAMP', 'acme', 'Desk lamp',
	 'LED desk lamp with dimmer and USB-C power.', 'home', 12900, 15, 0),
	('SKU-GLOBE', 'globex', 'Globe', 'A globe.', 'home', 3000, 3, 0);

INSERT INTO orders VALUES
	-- Alice: a fresh order (cancellable), a delivered one inside the
	-- return window, and a shipped one.
	('ORD-1001', 'acme', 'CUST-1', 'placed', 4999, 'usd', 'pi_1001',
	 datetime('now', '-1 hours'), NULL, 0),
	('ORD-1002', 'acme', 'CUST-1', 'delivered', 15000, 'usd', 'pi_1002',
	 datetime('now', '-12 days'), datetime('now', '-10 days'), 0),
	('ORD-1005', 'acme', 'CUST-1', 'shipped', 1800, 'usd', 'pi_1005',
	 datetime('now', '-2 days'), NULL, 0),
	-- Alice: delivered long ago (outside the window).
	('ORD-1006', 'acme', 'CUST-1', 'delivered', 2500, 'usd', 'pi_1006',
	 datetime('now', '-90 days'), datetime('now', '-85 days'), 0),
	-- Bob: a delivered final-sale order and a small placed one.
	('ORD-1003', 'acme', 'CUST-2', 'delivered', 8900, 'usd', 'pi_1003',
	 datetime('now', '-6 days'), datetime('now', '-4 days'), 0),
	('ORD-1007', 'acme', 'CUST-2', 'processing', 1600, 'usd', 'pi_1007',
	 datetime('now', '-3 hours'), NULL, 0),
	-- Carol: flagged for fraud.
	('ORD-1004', 'acme', 'CUST-3', 'delivered', 25000, 'usd', 'pi_1004',
	 datetime('now', '-8 days'), datetime('now', '-5 days'), 1),
	-- Another tenant's order with a colliding customer-facing number.
	('ORD-9001', 'globex', 'CUST-9', 'placed', 3000, 'usd', 'pi_9001',
	 datetime('now', '-1 days'), NULL, 0);

INSERT INTO order_items VALUES
	('ORD-1001', 'SKU-TEE', 1, 2500),
	('ORD-1001', 'SKU-MUG', 1, 1600),
	('ORD-1001', 'SKU-SOCK', 1, 899),
	('ORD-1002', 'SKU-LAMP', 1, 12900),
	('ORD-1002', 'SKU-MUG', 1, 2100),
	('ORD-1005', 'SKU-SOCK', 1, 1800),
	('ORD-1006', 'SKU-TEE', 1, 2500),
	('ORD-1003', 'SKU-KNIFE', 1, 8900),
	('ORD-1007', 'SKU-MUG', 1, 1600),
	('ORD-1004', 'SKU-LAMP', 1, 12900),
	('ORD-1004', 'SKU-HOOD', 2, 6050),
	('ORD-9001', 'SKU-GLOBE', 1, 3000);

INSERT INTO carts VALUES
	('CART-1', 'acme', 'CUST-1', 'open'),
	('CART-2', 'acme', 'CUST-2', 'open'),
	('CART-3', 'acme', 'CUST-3', 'abandoned');

INSERT INTO cart_items VALUES
	('CART-1', 'SKU-TEE', 2),
	('CART-1', 'SKU-MUG', 1),
	('CART-2', 'SKU-LAMP', 1);
