-- The year a teacher's title (职称) and tier (梯队 称号) were awarded, so the
-- rotation report counts *newly* appointed 特级 / 正高级 teachers as seed 003
-- asks (新评的特级教师、正高级教师 ... 每年不少于20%). Plain added columns:
-- old rows read NULL (year unknown), entries signed before keep verifying
-- (they name only the columns they wrote), and a node on schema 5 holds the
-- entries of upgraded nodes (E_SCHEMA) until it is upgraded too (FORMAT.md).
ALTER TABLE teacher ADD COLUMN title_year INTEGER;
ALTER TABLE teacher ADD COLUMN tier_year INTEGER;
