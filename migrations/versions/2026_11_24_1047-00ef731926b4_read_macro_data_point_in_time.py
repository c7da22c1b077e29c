"""Read macro data point in time: the release calendar, the usable session, as-of reads, first and latest prints.

- ``macro_release``: the official release calendar (``cn_schedule`` / ``eco_cal``) per data API and
  period, the first source of ``macro_observation.available_at``; read through ``v_macro_release``.
- ``macro_usable_session(at)``: the first SSE session whose 09:30 Beijing open is strictly after ``at``
  (a value released at 09:00 on a trading day is usable that day, at 10:00 the next open day).
- ``macro_asof(series, at)``: per period, the newest vintage available by ``at`` (no look-ahead).
- ``v_macro_first_release`` (vintage 1) and ``v_macro_latest`` (the highest vintage) with their
  ``usable_session``.

Everything a reader sees is gated by the ``macro`` read switch, like every ``v_*`` view.

Revision ID: 00ef731926b4
Revises: f80892522799
Create Date: 2026-11-24 10:47:25.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '00ef731926b4'
down_revision = 'f80892522799'
branch_labels = None
depends_on = None

MACRO_ON = "EXISTS (SELECT 1 FROM read_switch s WHERE s.module = 'macro' AND s.enabled)"

USABLE_SESSION = """
CREATE FUNCTION macro_usable_session(at timestamptz) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH first_open AS (
        SELECT c.cal_date FROM trade_calendar c
        WHERE c.exchange = 'SSE' AND c.is_open
          AND c.cal_date >= ($1 AT TIME ZONE 'Asia/Shanghai')::date
          AND (c.cal_date + time '09:30') AT TIME ZONE 'Asia/Shanghai' > $1
        ORDER BY c.cal_date
        LIMIT 1
    )
    -- only an answer the calendar vouches for: a row for every day from at's Beijing day to the session
    SELECT f.cal_date FROM first_open f
    WHERE (SELECT count(*) FROM trade_calendar c
           WHERE c.exchange = 'SSE' AND c.cal_date BETWEEN ($1 AT TIME ZONE 'Asia/Shanghai')::date AND f.cal_date)
          = f.cal_date - ($1 AT TIME ZONE 'Asia/Shanghai')::date + 1
$$;
COMMENT ON FUNCTION macro_usable_session(timestamptz) IS
    'The first SSE open day whose 09:30 Beijing session start is strictly after at; NULL where trade_calendar '
    'has no row for a day from at''s Beijing day to that session (not loaded that far).';
"""

ASOF = f"""
CREATE FUNCTION macro_asof(p_series text, p_at timestamptz)
RETURNS TABLE (series_id text, period_end date, period text, value double precision, vintage smallint,
               available_at timestamptz, available_source text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT DISTINCT ON (o.period_end)
           o.series_id::text, o.period_end, o.period::text, o.value, o.vintage, o.available_at,
           o.available_source::text
    FROM macro_observation o
    WHERE o.series_id = p_series AND o.available_at <= p_at AND {MACRO_ON}
    ORDER BY o.period_end, o.available_at DESC, o.vintage DESC
$$;
COMMENT ON FUNCTION macro_asof(text, timestamptz) IS
    'Point in time: per period of the series, the newest vintage with available_at <= p_at; '
    'empty while the macro read switch is off.';
"""

COLUMNS = ("o.series_id, o.period_end, o.period, o.value, o.vintage, o.available_at, o.available_date,"
           " o.available_source, o.first_seen_at")
FIRST_RELEASE = f"""
CREATE VIEW v_macro_first_release AS
SELECT {COLUMNS}, macro_usable_session(o.available_at) AS usable_session
FROM macro_observation o
WHERE o.vintage = 1 AND {MACRO_ON};
COMMENT ON VIEW v_macro_first_release IS
    'The first print (vintage 1) of every macro period, only where the macro read switch is on';
"""
LATEST = f"""
CREATE VIEW v_macro_latest AS
SELECT {COLUMNS}, macro_usable_session(o.available_at) AS usable_session
FROM (SELECT DISTINCT ON (m.series_id, m.period_end) m.*
      FROM macro_observation m
      ORDER BY m.series_id, m.period_end, m.vintage DESC) o
WHERE {MACRO_ON};
COMMENT ON VIEW v_macro_latest IS
    'The latest print (highest vintage) of every macro period, only where the macro read switch is on';
"""


def upgrade() -> None:
    op.create_table('macro_release',
    sa.Column('api_name', sa.String(length=32), nullable=False, comment='the data API, e.g. cn_cpi'),
    sa.Column('period', sa.String(length=10), nullable=False,
              comment='as the data API labels it: YYYYMM, YYYYQn, YYYYMMDD'),
    sa.Column('release_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False, comment='cn_schedule or eco_cal'),
    sa.Column('run_id', sa.BigInteger(), nullable=False, comment='ingest_runs.run_id of the run that last changed it'),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("source IN ('cn_schedule', 'eco_cal')", name=op.f('ck_macro_release_source')),
    sa.PrimaryKeyConstraint('api_name', 'period', name=op.f('pk_macro_release'))
    )
    op.create_index(op.f('ix_macro_release_release_at'), 'macro_release', ['release_at'], unique=False)
    op.create_index('ix_macro_release_run_id', 'macro_release', ['run_id'], unique=False, postgresql_using='brin')
    op.execute(f"CREATE VIEW v_macro_release AS SELECT t.* FROM macro_release t WHERE {MACRO_ON}")
    op.execute("COMMENT ON VIEW v_macro_release IS 'macro_release, only where its read switch is on'")
    op.execute(USABLE_SESSION)
    op.execute(ASOF)
    op.execute(FIRST_RELEASE)
    op.execute(LATEST)


def downgrade() -> None:
    op.execute("DROP VIEW v_macro_latest")
    op.execute("DROP VIEW v_macro_first_release")
    op.execute("DROP FUNCTION macro_asof(text, timestamptz)")
    op.execute("DROP FUNCTION macro_usable_session(timestamptz)")
    op.execute("DROP VIEW v_macro_release")
    op.drop_index('ix_macro_release_run_id', table_name='macro_release', postgresql_using='brin')
    op.drop_index(op.f('ix_macro_release_release_at'), table_name='macro_release')
    op.drop_table('macro_release')
