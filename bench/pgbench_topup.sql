-- The baseline a team would otherwise write: one SQL transaction per durable top-up against
-- PostgreSQL, with the same double-entry effects as Station's (idempotency record, transfer row,
-- wallet credit, operator cash debit). Used by bench/http_topups.sh with pgbench -f.
\set wallet random(1, :wallets)
\set amount random(1, 10000)
\set nonce random(1, 9000000000000000000)
BEGIN;
INSERT INTO bench_idempotency (key, created_at) VALUES (:client_id || '-' || :nonce, now());
INSERT INTO bench_transfers (debit, credit, amount_minor, created_at)
  VALUES (0, :wallet, :amount, now());
UPDATE bench_accounts SET balance_minor = balance_minor + :amount WHERE id = :wallet;
UPDATE bench_accounts SET balance_minor = balance_minor - :amount WHERE id = 0;
COMMIT;
