-- A statement that aborts its whole D1 batch when the write just before it
-- changed no row: `INSERT INTO write_guards (must_stay_empty) SELECT 1 WHERE
-- changes() = 0` violates the CHECK. When the write did change a row it
-- inserts nothing, so this table stays empty for ever. Used by AuditChain for
-- conditional changes (target vanished, last admin, seat limit).
CREATE TABLE `write_guards` (
  `must_stay_empty` integer CHECK (`must_stay_empty` IS NULL)
);
